"""The resellers' two APIs: the staff API under /api/v1/resellers/ (staff.py: promote, change,
demote, tokens, statements) and the reseller API under /api/v1/reseller/ (reseller.py: a
reseller's own key buys, renews and manages their accounts). Thin callers of
resellers.services and resellers.selectors; routes in resellers/urls.py."""
