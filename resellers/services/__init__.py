"""The resellers' business operations, by subject: prices, buying and renewing (with the
parents' commissions), the accounts after the purchase, files, figures and statements, and what
operators do (promote, change, demote, tokens). Handlers, the APIs, the admin and tasks call these."""

from .accounts import Usage, account_set_enabled, account_status, account_usage, accounts_usage
from .buying import (
    Purchase,
    account_of,
    clean_label,
    commission_credit,
    labels_for,
    reseller_buy,
    reseller_quote,
    reseller_renew,
)
from .commissions import commission_reverse
from .errors import NotFound, ResellerError
from .files import batch_complete_for, batch_file, batch_send_file
from .management import (
    TOKEN_PREFIX,
    reseller_demote,
    reseller_promote,
    reseller_update,
    sub_reseller_invite,
    token_authenticate,
    token_create,
    token_revoke,
)
from .pricing import reseller_price_adjust, reseller_unit_price
from .statements import Figures, month_bounds, reseller_figures, reseller_statement_csv

__all__ = [
    "TOKEN_PREFIX", "Figures", "NotFound", "Purchase", "ResellerError", "Usage", "account_of", "account_set_enabled",
    "account_status", "account_usage", "accounts_usage", "batch_complete_for", "batch_file", "batch_send_file",
    "clean_label", "commission_credit", "commission_reverse", "labels_for", "month_bounds", "reseller_buy",
    "reseller_demote", "reseller_figures", "reseller_price_adjust", "reseller_promote", "reseller_quote",
    "reseller_renew", "reseller_statement_csv", "reseller_unit_price", "reseller_update", "sub_reseller_invite",
    "token_authenticate", "token_create", "token_revoke",
]
