"""The shapes of the reports API's answers, for its OpenAPI schema. The views return the
services' dicts as they are (reports.services.report_financial, …); these serializers describe
them and are never used to build them."""

from __future__ import annotations

from rest_framework import serializers

AMOUNT = "An integer amount of the shop's currency"


def _amount(help_text: str = AMOUNT) -> serializers.IntegerField:
    return serializers.IntegerField(help_text=help_text)


def _shape(name: str, fields: dict, doc: str = "") -> type[serializers.Serializer]:
    """A serializer class from a dict of fields (names like "from" cannot be class attributes)."""
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc or name})


def _period() -> dict:
    return {"from": serializers.DateField(help_text="The first local day (Gregorian)"),
            "to": serializers.DateField(help_text="The last local day, inclusive (Gregorian)")}


ProblemSerializer = _shape("ReconciliationProblem", {
    "check": serializers.CharField(help_text="The check that failed: totals, balance, order_debit, purchase_orphan, "
                                             "refund, receipt_credit, receipt_orphan, online_credit, online_orphan, "
                                             "topup_unknown, cashback_credit, cashback_orphan"),
    "message": serializers.CharField(help_text="What it means, in the request's language"),
    "count": serializers.IntegerField(help_text="How many rows fail it"),
    "rows": serializers.ListField(child=serializers.DictField(), help_text="Up to 50 of the offending rows"),
}, "One failed check of the reconciliation")

ReconciliationSerializer = _shape("Reconciliation", {
    "ok": serializers.BooleanField(help_text="True when every check passed"),
    "scope": serializers.CharField(help_text='"all", or the period\'s days FROM..TO'),
    "ledger_total_amount": _amount("The sum of the whole ledger"),
    "balance_total_amount": _amount("The sum of every wallet balance"),
    "seconds": serializers.FloatField(help_text="How long the checks took"),
    "checked_at": serializers.DateTimeField(help_text="When the checks ran: now, or, for a period with more "
                                                      "ledger rows than REPORTS_LIVE_RECONCILE_ROWS, the latest "
                                                      "full run (scope \"all\")"),
    "problems": ProblemSerializer(many=True),
}, "The ledger reconciled against the balances and everything that moves money")

FinancialSerializer = _shape("FinancialReport", {
    **_period(),
    "calendar": serializers.ChoiceField(choices=["jalali", "gregorian"]),
    "label": serializers.CharField(help_text="The period as a person reads it, in its calendar"),
    "orders": serializers.IntegerField(help_text="Orders paid in the period (refunded since or not)"),
    "gross_amount": _amount("The orders' list prices"),
    "discount_amount": _amount("Discounts on those orders"),
    "discount_amount_by_kind": serializers.DictField(child=serializers.IntegerField(),
                                                     help_text="By smart discount kind; other = a reseller's price"),
    "net_amount": _amount("What the orders were paid"),
    "average_order_amount": _amount(),
    "refund_amount": _amount("Refunds to the wallets"),
    "refund_to_provider_amount": _amount("Money sent back to a payment provider from a wallet"),
    "cashback_paid_amount": _amount(),
    "cashback_reversed_amount": _amount(),
    "referral_reward_amount": _amount(),
    "commission_amount": _amount("Resellers' commissions, less their reversals"),
    "adjustment_amount": _amount("Operators' adjustments"),
    "traffic_amount": _amount("Extra traffic bought from the wallet"),
    "topup_amount": _amount("Wallet top-ups, every method"),
    "topup_amount_by_method": serializers.DictField(child=serializers.IntegerField(),
                                                    help_text="card (receipts) and each online provider"),
    "topups": serializers.IntegerField(help_text="How many top-ups"),
    "wallet_liability_amount": _amount("What the wallets held at the period's end"),
    "cashback_pending_amount": _amount("Cashback earned and not yet credited at the period's end"),
    "new_customers": serializers.IntegerField(help_text="Customers who joined in the period"),
    "buyers": serializers.IntegerField(),
    "new_buyers": serializers.IntegerField(help_text="Buyers with no paid order before the period"),
    "returning_buyers": serializers.IntegerField(),
    "reconciliation": ReconciliationSerializer(help_text="The checks on the period's rows (the totals: the whole)"),
}, "Money in and out over a period")

SalesFigureSerializer = _shape("SalesFigure", {
    "key": serializers.JSONField(help_text="The plan, panel or reseller id (null: none), or the payment method"),
    "name": serializers.CharField(required=False),
    "orders": serializers.IntegerField(),
    "gross_amount": _amount(),
    "net_amount": _amount(),
}, "The paid orders of one plan, panel, reseller or method")

SalesSerializer = _shape("SalesReport", {
    **_period(),
    "by_plan": SalesFigureSerializer(many=True),
    "by_panel": SalesFigureSerializer(many=True),
    "by_reseller": SalesFigureSerializer(many=True),
    "by_method": SalesFigureSerializer(many=True, help_text="wallet, or the online provider that paid the order"),
}, "The period's paid orders by plan, panel, reseller and payment method")

CustomersSerializer = _shape("CustomersReport", {
    **_period(),
    "active_subscribers": serializers.IntegerField(help_text="Customers with a subscription of their own now"),
    "renewal": _shape("RenewalRate", {
        "plan_id": serializers.IntegerField(), "name": serializers.CharField(),
        "ended": serializers.IntegerField(), "renewed": serializers.IntegerField(),
        "renewal_rate_bp": serializers.IntegerField(help_text="Basis points (1500 = 15%)"),
    })(many=True),
    "churn": _shape("Churn", {
        "days": serializers.IntegerField(), "ended": serializers.IntegerField(), "churned": serializers.IntegerField(),
        "churn_rate_bp": serializers.IntegerField(help_text="Basis points"),
    })(),
    "active_customers": serializers.IntegerField(),
    "arpu_amount": _amount("Net sales per active customer"),
    "paying_customers": serializers.IntegerField(),
    "arppu_amount": _amount("Net sales per paying customer"),
}, "Subscribers, renewals, churn and revenue per customer")

CohortsSerializer = _shape("CohortsReport", {
    "months": serializers.IntegerField(),
    "calendar": serializers.ChoiceField(choices=["jalali", "gregorian"]),
    "cohorts": _shape("Cohort", {
        "cohort": serializers.CharField(help_text="The month the customers joined, in the calendar"),
        "customers": serializers.IntegerField(),
        "revenue_amount": serializers.ListField(child=serializers.IntegerField(),
                                                help_text="Net revenue per month since joining"),
        "buyers": serializers.ListField(child=serializers.IntegerField()),
        "ltv_amount": serializers.ListField(child=serializers.IntegerField(),
                                            help_text="Cumulative revenue per customer"),
    })(many=True),
}, "Monthly cohorts of customers and their lifetime value")

LedgerRowSerializer = _shape("LedgerRow", {
    "id": serializers.IntegerField(),
    "created_at": serializers.DateTimeField(help_text="In the shop's time zone"),
    "date": serializers.CharField(help_text="The local day in the requested calendar"),
    "customer_id": serializers.IntegerField(),
    "telegram_id": serializers.IntegerField(),
    "reason": serializers.CharField(),
    "amount": _amount("Positive credits, negative debits"),
    "balance_after": _amount(),
    "source": serializers.CharField(help_text="What caused it, e.g. payment:12"),
    "note": serializers.CharField(),
}, "One row of the wallet ledger")

LedgerPageSerializer = _shape("LedgerPage", {
    "count": serializers.IntegerField(),
    "next": serializers.URLField(allow_null=True),
    "previous": serializers.URLField(allow_null=True),
    "results": LedgerRowSerializer(many=True),
}, "A page of the period's ledger (?limit=&offset=)")
