"""The set-based fill of the reports benchmark: a living shop over the last ~13 months, every
money row consistent with the ledger, written with INSERT ... SELECT (no ORM loop).

How it is built (PostgreSQL only):
- every per-row choice is a hash of the row's key (pg_temp.u(key, salt) in [0, 1)), so a row's
  neighbour (the order before or after of the same customer) can be recomputed without a join;
- staging tables (UNLOGGED, dropped at the end) hold customers, orders, top-ups and the ledger
  before they are copied into the shop's tables with explicit ids in time order (ids grow with
  time as in a real shop, so a month's rows are contiguous on disk);
- the shop's secondary indexes and unique constraints are dropped during the copy and built
  again after it (the same definitions, read from the catalog), and the copy runs with
  session_replication_role = replica (no foreign-key trigger per row: the rows are consistent
  by construction, and reports.services.reconcile() checks the money afterwards);
- the wallet never goes below zero by construction: each wallet-paid order is preceded by the
  top-up that pays for it (alone or with the next order), a cashback reversal follows its
  order's refund, every other row is a credit. balance_after is the running sum per customer
  and each customer's balance_amount its ledger sum (one UPDATE ... FROM (SELECT sum)).
"""

from __future__ import annotations

import time
from datetime import datetime

# name, days, price, share of the customers whose usual plan it is
PLANS = [("1 month", 30, 150_000, 0.40), ("1 month, 2 devices", 30, 250_000, 0.25), ("1 month, 50 GB", 30, 90_000, 0.10),
         ("3 months", 90, 400_000, 0.12), ("6 months", 180, 750_000, 0.08), ("12 months", 365, 1_400_000, 0.05)]
# the SmartDiscount kinds used, their basis points and cap; index 1 (first purchase) only on a first order
DISCOUNTS = [("hourly", 2000, None), ("first_purchase", 3000, None), ("bulk", 1000, None), ("loyalty", 1500, None),
             ("seasonal", 2500, None), ("birthday", 2000, None), ("code", 1000, 100_000), ("conditional", 1500, None)]
PROVIDERS = ["stars", "zarinpal", "nowpayments"]
CURRENCY = {"stars": ("XTR", 1000), "zarinpal": ("IRT", 1), "nowpayments": ("USDT", 60000)}
RESELLER_EVERY = 5000  # one customer in 5000 is a reseller
RESELLER_SHARE = 0.10  # of the orders
HISTORY_DAYS = 395
STAGING = ["bench_c", "bench_o", "bench_ord", "bench_topup", "bench_rcpt", "bench_onl", "bench_l"]
LOADED = ["shop_customer", "shop_order", "shop_subscription", "shop_trial", "shop_payment", "payments_payment",
          "shop_wallettransaction", "shop_referralreward", "discounts_discountusage", "discounts_cashbacktransaction",
          "panels_panelaccount", "resellers_reseller"]

FUNCTIONS = """
CREATE OR REPLACE FUNCTION pg_temp.u(x bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8(x * 64 + salt) & 2147483647)::float8 / 2147483648.0 $$;
CREATE OR REPLACE FUNCTION pg_temp.pick(x float8) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT width_bucket(x, ARRAY[0.40, 0.65, 0.75, 0.87, 0.95]::float8[]) $$;  -- x once: inlined
CREATE OR REPLACE FUNCTION pg_temp.plan_of(q bigint, c bigint) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN pg_temp.u(q, 7) < 0.15 THEN pg_temp.pick(pg_temp.u(q, 8)) ELSE pg_temp.pick(pg_temp.u(c, 6)) END $$;
CREATE OR REPLACE FUNCTION pg_temp.cancelled(q bigint, res bool) RETURNS bool LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT NOT res AND pg_temp.u(q, 9) < 0.02 $$;
CREATE OR REPLACE FUNCTION pg_temp.renews(q bigint, c bigint, i int, res bool) RETURNS bool LANGUAGE sql IMMUTABLE
AS $$ SELECT i > 1 AND NOT pg_temp.cancelled(q, res) AND NOT pg_temp.cancelled(q - 1, res)
             AND pg_temp.plan_of(q, c) = pg_temp.plan_of(q - 1, c) AND pg_temp.u(q, 10) < 0.8 $$;
CREATE OR REPLACE FUNCTION pg_temp.referrer(c bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN mod(c, 4) = 1 AND c > 100 THEN 1 + floor(pg_temp.u(c, 25) * (c - 1))::bigint END $$;
"""


def _defaults(model, given: dict[str, str]) -> tuple[str, str, list]:
    """Columns and SELECT expressions (with the id given) for an INSERT ... SELECT into a model."""
    from bench.crm.run import _defaults_sql

    cols, exprs, params = _defaults_sql(model, given)
    return ", ".join(["id", *cols]), ", ".join([given["id"], *exprs]), params


def _drop_indexes(cursor, tables: list[str]) -> list[str]:
    """Drop every index and unique constraint but the primary keys; return the SQL that makes them again."""
    again = []
    for table in tables:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'u'", [table])
        for name, definition in cursor.fetchall():
            again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
                       "(SELECT 1 FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.conname = i.indexname)",
                       [table, table])
        for name, definition in cursor.fetchall():
            again.append(definition)
            cursor.execute(f'DROP INDEX "{name}"')
    return again


def fill(customers: int, orders: int, ledger: int, anchor: datetime) -> dict[str, float]:
    from django.db import connection

    from discounts.models import CashbackRule, CashbackTransaction, DiscountUsage, SmartDiscount
    from panels.models import Panel, PanelAccount
    from payments.models import Payment as Online
    from resellers.models import Reseller
    from vpnbot.shop.models import Customer, Order, Payment, Plan, ReferralReward, Subscription, Trial, WalletTransaction

    now = f"TIMESTAMPTZ '{anchor.isoformat()}'"
    steps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def step(name: str) -> None:
        at = time.perf_counter()
        steps[name] = at - clock[0]
        clock[0] = at
        print(f"  {name:<34}{steps[name]:>7.1f} s", flush=True)

    plans = [Plan.objects.create(name=name, duration_days=days, price_amount=price, sort_order=i).pk
             for i, (name, days, price, _share) in enumerate(PLANS)]
    panels = [Panel.objects.create(name="DE-1 (3x-ui)", kind="3x-ui", base_url="https://de1.example:2053/p").pk,
              Panel.objects.create(name="NL-1 (Marzban)", kind="marzban", base_url="https://nl1.example").pk]
    discounts = [SmartDiscount.objects.create(kind=kind, title=f"bench {kind}", percent_bp=bp, cap_amount=cap,
                                              code="BENCH10" if kind == "code" else None, per_customer_limit=None,
                                              starts_at=anchor.replace(year=anchor.year - 2)).pk
                 for kind, bp, cap in DISCOUNTS]
    rule = CashbackRule.objects.create(title="bench 5%", percent_bp=500, delay_days=1,
                                       starts_at=anchor.replace(year=anchor.year - 2)).pk
    arr = "(ARRAY[{}]::bigint[])".format
    plan_ids, prices, days = arr(",".join(map(str, plans))), arr(",".join(str(p[2]) for p in PLANS)), \
        arr(",".join(str(p[1]) for p in PLANS))
    disc_ids, disc_bp = arr(",".join(map(str, discounts))), arr(",".join(str(d[1]) for d in DISCOUNTS))
    disc_cap = arr(",".join(str(d[2] or 10**15) for d in DISCOUNTS))
    providers = "(ARRAY[{}])".format(",".join(f"'{p}'" for p in PROVIDERS))
    u = "pg_temp.u"
    res_orders = int(orders * RESELLER_SHARE)

    with connection.cursor() as cursor:
        for setting in ("work_mem = '768MB'", "maintenance_work_mem = '1GB'", "synchronous_commit = off",
                        "session_replication_role = replica"):
            cursor.execute(f"SET {setting}")
        cursor.execute(FUNCTIONS)
        for table in STAGING:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        again = _drop_indexes(cursor, LOADED)
        step("setup (plans, discounts, drop indexes)")

        # customers: joined over HISTORY_DAYS, more of them lately; k orders each, by tenure and habit
        cursor.execute(f"""
            CREATE UNLOGGED TABLE bench_c AS
            WITH base AS (
                SELECT g AS c, {now} - INTERVAL '{HISTORY_DAYS} days' * (1 - power(g::float8 / {customers}, 0.75))
                                     - INTERVAL '6 hours' * {u}(g, 1) AS joined,
                       mod(g, {RESELLER_EVERY}) = {RESELLER_EVERY // 2} AS res
                FROM generate_series(1, {customers}) g),
            w AS (
                SELECT c, joined, res, CASE WHEN res OR {u}(c, 2) >= 0.7 THEN 0 ELSE
                    1 + extract(epoch FROM {now} - joined) / 86400 / 30 * (0.3 + 0.9 * {u}(c, 3)) END AS wr
                FROM base),
            tot AS (SELECT sum(wr) AS s, greatest(1, count(*) FILTER (WHERE res)) AS nres FROM w)
            SELECT c, joined, res, k, sum(k) OVER (ORDER BY c) - k AS q0 FROM (
                SELECT c, joined, res, CASE WHEN res THEN floor({res_orders}.0 / nres + {u}(c, 4))::int
                    WHEN wr = 0 THEN 0 ELSE greatest(1, floor(wr * {orders - res_orders} / s + {u}(c, 4)))::int END AS k
                FROM w, tot) x""")
        step("staging: customers")

        # orders: the i-th of k of a customer, spread over their tenure; everything a hash of q
        cursor.execute(f"""
            CREATE UNLOGGED TABLE bench_o AS
            SELECT y.*, list - disc AS paid,
                   NOT cancelled AND NOT res AND {u}(q, 14) < 0.15 AS online, floor({u}(q, 15) * 3)::int AS prov,
                   refunded AND {u}(q, 17) >= 0.7 AS half_refund,
                   CASE WHEN NOT cancelled AND NOT res AND {u}(q, 16) < 0.10 THEN (list - disc) * 500 / 10000
                        ELSE 0 END AS cb,
                   CASE WHEN refunded THEN t + INTERVAL '1 day' + INTERVAL '4 days' * {u}(q, 18) END AS refunded_at
            FROM (
                SELECT x.*, {prices}[p + 1] AS list,
                       CASE WHEN res THEN {prices}[p + 1] * 1500 / 10000
                            WHEN kind IS NULL THEN 0
                            ELSE least({prices}[p + 1] * {disc_bp}[kind + 1] / 10000, {disc_cap}[kind + 1]) END AS disc,
                       NOT cancelled AND NOT res AND {u}(q, 11) < 0.03 AND t < {now} - INTERVAL '6 days' AS refunded
                FROM (
                    SELECT q, c, i, k, res, t, pg_temp.plan_of(q, c) AS p, pg_temp.cancelled(q, res) AS cancelled,
                           pg_temp.renews(q, c, i, res) AS renews,
                           NOT pg_temp.cancelled(q, res) AND NOT (i < k AND pg_temp.renews(q + 1, c, i + 1, res))
                               AS chain_end,
                           CASE WHEN res OR pg_temp.cancelled(q, res) THEN NULL
                                WHEN i = 1 AND {u}(q, 12) < 0.4 THEN 1
                                WHEN {u}(q, 12) < 0.22 THEN (ARRAY[0, 2, 3, 4, 5, 6, 7])[1 + floor({u}(q, 13) * 7)::int]
                           END AS kind
                    FROM (
                        SELECT bc.q0 + i AS q, bc.c, i, bc.k, bc.res,
                               bc.joined + ({now} - bc.joined) * ((i - 1 + 0.9 * {u}(bc.q0 + i, 5)) / bc.k) AS t
                        FROM bench_c bc, generate_series(1, bc.k) i WHERE bc.k > 0) s) x) y""")
        step("staging: orders")
        # ids in time order; the renewed subscription is the previous order's (same customer)
        cursor.execute("""
            CREATE UNLOGGED TABLE bench_ord AS
            SELECT x.*, CASE WHEN renews THEN lag(id) OVER (ORDER BY q) END AS prev_id
            FROM (SELECT o.*, row_number() OVER (ORDER BY t, q) AS id FROM bench_o o) x""")
        cursor.execute("DROP TABLE bench_o")
        step("staging: order ids")

        # how many top-ups: each pays one wallet order (share s of the customers) or two in a row (the rest)
        cursor.execute(f"""
            SELECT count(*) FILTER (WHERE NOT cancelled),
                   count(*) FILTER (WHERE online),
                   count(*) FILTER (WHERE refunded),
                   count(*) FILTER (WHERE cb > 0 AND t + INTERVAL '1 day' <= {now}),
                   count(*) FILTER (WHERE cb > 0 AND refunded),
                   count(*) FILTER (WHERE i = 1 AND NOT cancelled AND pg_temp.referrer(c) IS NOT NULL),
                   count(*) FILTER (WHERE NOT cancelled AND NOT online),
                   count(DISTINCT CASE WHEN NOT cancelled AND NOT online THEN q - mod(i + 1, 2) END)
            FROM bench_ord""")
        debits, online, refunds, cashback, reversals, referrals, wallet, pairs = cursor.fetchone()
        fixed = debits + online + refunds + cashback + reversals + referrals
        need = ledger - fixed - int(ledger * 0.01)  # about 1 % left for the operators' adjustments
        single = min(1.0, max(0.0, (need - pairs) / max(1, wallet - pairs)))
        print(f"    ledger plan: {debits:,} debits, {online:,} online order credits, {refunds:,} refunds, "
              f"{cashback:,} cashback, {reversals:,} reversals, {referrals:,} referral rewards; "
              f"{wallet:,} wallet orders -> top-ups pay one order for {single:.0%} of the customers")
        cursor.execute(f"""
            CREATE UNLOGGED TABLE bench_topup AS
            SELECT c, grp, t - INTERVAL '1 minute' * (1 + 120 * {u}(grp, 22)) AS t,
                   (ceil(total / 10000.0) * 10000 + CASE WHEN {u}(grp, 23) < 0.3
                       THEN 50000 * (1 + floor(4 * {u}(grp, 24))) ELSE 0 END)::bigint AS amount,
                   {u}(grp, 20) < 0.6 AS card, floor({u}(grp, 21) * 3)::int AS prov
            FROM (SELECT c, grp, min(t) AS t, sum(paid) AS total FROM (
                      SELECT c, t, paid, CASE WHEN {u}(c, 19) < {single} THEN q ELSE q - mod(i + 1, 2) END AS grp
                      FROM bench_ord WHERE NOT cancelled AND NOT online) w
                  GROUP BY c, grp) g""")
        step("staging: top-ups")
        cursor.execute(f"""
            CREATE UNLOGGED TABLE bench_rcpt AS
            SELECT row_number() OVER (ORDER BY t, c) AS id, * FROM (
                SELECT c, t, amount, true AS approved FROM bench_topup WHERE card
                UNION ALL  -- a photo refused before the good one
                SELECT c, t - INTERVAL '50 minutes', amount, false FROM bench_topup WHERE card AND {u}(grp, 26) < 0.05) x""")
        cursor.execute(f"""
            CREATE UNLOGGED TABLE bench_onl AS
            SELECT row_number() OVER (ORDER BY t, c) AS id, * FROM (
                SELECT c, t, amount, prov, 'topup' AS purpose, 'paid' AS status, NULL::bigint AS order_id,
                       NULL::int AS p FROM bench_topup WHERE NOT card
                UNION ALL
                SELECT c, t - INTERVAL '1 second', paid, prov, 'order', 'paid', id, p FROM bench_ord WHERE online
                UNION ALL  -- abandoned or failed attempts before the paid one
                SELECT c, t - INTERVAL '30 minutes', amount, prov, 'topup',
                       CASE WHEN {u}(grp, 27) < 0.5 THEN 'failed' ELSE 'expired' END, NULL, NULL
                FROM bench_topup WHERE NOT card AND {u}(grp, 28) < 0.08) x""")
        step("staging: receipts and online payments")

        cursor.execute(f"""
            CREATE UNLOGGED TABLE bench_l AS
            SELECT c, t, 1 AS seq, id AS ref, -paid AS amount, 'purchase' AS reason, 'order:' || id AS source
                FROM bench_ord WHERE NOT cancelled
            UNION ALL SELECT c, t, 0, id, amount, 'topup', 'pay:' || {providers}[prov + 1] || ':' || id
                FROM bench_onl WHERE status = 'paid'
            UNION ALL SELECT c, t, 0, id, amount, 'topup', 'payment:' || id FROM bench_rcpt WHERE approved
            UNION ALL SELECT c, refunded_at, 0, id, CASE WHEN half_refund THEN paid / 2 ELSE paid END, 'refund',
                             'refund:' || id FROM bench_ord WHERE refunded
            UNION ALL SELECT c, t + INTERVAL '1 day', 0, id, cb, 'cashback', 'cashback:' || id
                FROM bench_ord WHERE cb > 0 AND t + INTERVAL '1 day' <= {now}
            UNION ALL SELECT c, refunded_at + INTERVAL '1 second', 1, id, -cb, 'cashback_reversal',
                             'cashback_reversal:' || id FROM bench_ord WHERE cb > 0 AND refunded
            UNION ALL SELECT pg_temp.referrer(c), t + INTERVAL '1 second', 0, c, paid * 10 / 100, 'referral',
                             'referral:' || c FROM bench_ord
                WHERE i = 1 AND NOT cancelled AND pg_temp.referrer(c) IS NOT NULL""")
        cursor.execute("SELECT count(*) FROM bench_l")
        adjustments = max(0, ledger - cursor.fetchone()[0])
        cursor.execute(f"""
            INSERT INTO bench_l SELECT bc.c, bc.joined + ({now} - bc.joined) * {u}(g, 30), 0, g,
                   10000 * (1 + floor(10 * {u}(g, 31)))::bigint, 'adjustment', 'adjust:' || g
            FROM generate_series(1, {adjustments}) g JOIN bench_c bc ON bc.c = 1 + floor({u}(g, 29) * {customers})::bigint""")
        step("staging: ledger")

        # --- the shop's tables -------------------------------------------------------------------
        cols, exprs, params = _defaults(Customer, {
            "id": "c", "telegram_id": "5000000000 + c", "username": "'u' || c", "first_name": "'Bench'",
            "referral_code": "'r' || c", "referred_by_id": "pg_temp.referrer(c)", "joined_at": "joined",
            "language": f"CASE WHEN {u}(c, 40) < 0.8 THEN 'fa' ELSE 'en' END", "last_seen_at": "joined",
        })
        cursor.execute(f"INSERT INTO shop_customer ({cols}) SELECT {exprs} FROM bench_c ORDER BY c", params)
        cols, exprs, params = _defaults(Reseller, {
            "id": "n", "customer_id": "c", "parent_id": "CASE WHEN mod(n, 10) = 0 THEN n - 1 END",
            "discount_bp": "1500", "created_at": "joined"})
        cursor.execute(f"INSERT INTO resellers_reseller ({cols}) SELECT {exprs} FROM "
                       "(SELECT row_number() OVER (ORDER BY c) AS n, c, joined FROM bench_c WHERE res) r", params)
        step("customers, resellers")
        cols, exprs, params = _defaults(Order, {
            "id": "id", "customer_id": "c", "plan_id": f"{plan_ids}[p + 1]", "list_amount": "list",
            "discount_amount": "disc", "paid_amount": "paid",
            "status": "CASE WHEN cancelled THEN 'cancelled' WHEN refunded THEN 'refunded' ELSE 'paid' END",
            "idempotency_key": "'bench-' || id", "created_at": "t - INTERVAL '20 seconds'",
            "paid_at": "CASE WHEN NOT cancelled THEN t END",
            "refunded_amount": "CASE WHEN NOT refunded THEN 0 WHEN half_refund THEN paid / 2 ELSE paid END",
            "refunded_at": "refunded_at", "refund_reason": "CASE WHEN refunded THEN 'bench refund' ELSE '' END",
        })
        cursor.execute(f"INSERT INTO shop_order ({cols}) SELECT {exprs} FROM bench_ord ORDER BY id", params)
        step("orders")
        expires = f"CASE WHEN refunded THEN refunded_at ELSE t + {days}[p + 1] * INTERVAL '1 day' END"
        cols, exprs, params = _defaults(Subscription, {
            "id": "id", "customer_id": "c", "plan_id": f"{plan_ids}[p + 1]", "order_id": "id", "starts_at": "t",
            "expires_at": expires, "config": "'vless://bench@' || id",
            "status": f"CASE WHEN refunded THEN 'cancelled' WHEN {expires} > {now} THEN 'active' ELSE 'expired' END",
            "config_delivered_at": "t", "renewed_from_id": "prev_id", "resold": "res",
            "label": "CASE WHEN res THEN 'client-' || id ELSE '' END", "created_at": "t",
        })
        cursor.execute(f"INSERT INTO shop_subscription ({cols}) SELECT {exprs} FROM bench_ord WHERE NOT cancelled "
                       "ORDER BY id", params)
        cursor.execute("SELECT max(id) FROM bench_ord")
        last_order = cursor.fetchone()[0] or 0
        cols, exprs, params = _defaults(Subscription, {
            "id": f"{last_order} + n", "customer_id": "c", "plan_id": f"{plan_ids}[1]",
            "starts_at": "joined + INTERVAL '2 minutes'", "expires_at": "joined + INTERVAL '1 day 2 minutes'",
            "config": "'vless://trial@' || c", "is_trial": "true", "config_delivered_at": "joined",
            "status": f"CASE WHEN joined + INTERVAL '1 day 2 minutes' > {now} THEN 'active' ELSE 'expired' END",
            "created_at": "joined + INTERVAL '2 minutes'",
        })
        cursor.execute(f"INSERT INTO shop_subscription ({cols}) SELECT {exprs} FROM (SELECT row_number() OVER "
                       f"(ORDER BY c) AS n, c, joined FROM bench_c WHERE NOT res AND {u}(c, 41) < 0.2) x", params)
        cols, exprs, params = _defaults(Trial, {"id": "n", "customer_id": "customer_id", "subscription_id": "id",
                                                "created_at": "created_at"})
        cursor.execute(f"INSERT INTO shop_trial ({cols}) SELECT {exprs} FROM (SELECT row_number() OVER (ORDER BY id) "
                       f"AS n, * FROM shop_subscription WHERE id > {last_order}) x", params)
        step("subscriptions, trials")
        cols, exprs, params = _defaults(PanelAccount, {
            "id": "n", "subscription_id": "sid", "panel_id": f"CASE WHEN {u}(c, 42) < 0.6 THEN {panels[0]} "
                                                                f"ELSE {panels[1]} END",
            "name": "'b' || sid", "remote_id": "'r' || sid", "status": "CASE WHEN active THEN 'active' ELSE 'disabled' END",
            "expires_at": "expires_at", "created_at": "created_at", "updated_at": "expires_at",
        })
        cursor.execute(f"""INSERT INTO panels_panelaccount ({cols}) SELECT {exprs} FROM (
            SELECT row_number() OVER (ORDER BY sid) AS n, * FROM (
                SELECT o.id AS sid, o.c, o.t AS created_at, s.expires_at, s.status = 'active' AS active
                FROM bench_ord o JOIN shop_subscription s ON s.id = o.id WHERE o.chain_end
                UNION ALL SELECT id, customer_id, created_at, expires_at, status = 'active' FROM shop_subscription
                WHERE id > {last_order}) a) x""", params)
        step("panel accounts")
        cols, exprs, params = _defaults(Payment, {
            "id": "id", "customer_id": "c", "amount": "amount", "receipt_file_id": "'AgACbench' || id",
            "receipt_unique_id": "'AQADbench' || id", "status": "CASE WHEN approved THEN 'approved' ELSE 'rejected' END",
            "reviewer": "'@bench'", "reason": "CASE WHEN approved THEN '' ELSE 'unreadable' END",
            "created_at": f"t - INTERVAL '1 minute' * (5 + 60 * {u}(id, 43))", "reviewed_at": "t",
        })
        cursor.execute(f"INSERT INTO shop_payment ({cols}) SELECT {exprs} FROM bench_rcpt ORDER BY id", params)
        currency = "CASE prov " + " ".join(f"WHEN {i} THEN '{CURRENCY[p][0]}'" for i, p in enumerate(PROVIDERS)) + " END"
        rate = "CASE prov " + " ".join(f"WHEN {i} THEN {CURRENCY[p][1]}" for i, p in enumerate(PROVIDERS)) + " END"
        cols, exprs, params = _defaults(Online, {
            "id": "id", "provider": f"{providers}[prov + 1]", "provider_payment_id": "'bench-' || id", "customer_id": "c",
            "purpose": "purpose", "amount": "amount", "currency": currency,
            "provider_amount": f"round(amount::numeric / {rate}, 8)", "plan_id": f"{plan_ids}[p + 1]",
            "expected_total": "CASE WHEN order_id IS NOT NULL THEN amount END", "order_id": "order_id",
            "status": "status", "created_at": "t - INTERVAL '2 minutes'", "updated_at": "t",
            "paid_at": "CASE WHEN status = 'paid' THEN t END",
        })
        cursor.execute(f"INSERT INTO payments_payment ({cols}) SELECT {exprs} FROM bench_onl ORDER BY id", params)
        step("receipts, online payments")
        cols, exprs, params = _defaults(DiscountUsage, {
            "id": "n", "discount_id": f"{disc_ids}[kind + 1]", "customer_id": "c", "order_id": "id", "amount": "disc",
            "created_at": "t", "released_at": "refunded_at"})
        cursor.execute(f"INSERT INTO discounts_discountusage ({cols}) SELECT {exprs} FROM (SELECT row_number() OVER "
                       "(ORDER BY id) AS n, * FROM bench_ord WHERE kind IS NOT NULL) x", params)
        cursor.execute("UPDATE discounts_smartdiscount d SET used_count = n FROM (SELECT discount_id, count(*) AS n "
                       "FROM discounts_discountusage GROUP BY 1) x WHERE x.discount_id = d.id")
        credited = f"t + INTERVAL '1 day' <= {now}"
        cols, exprs, params = _defaults(CashbackTransaction, {
            "id": "n", "customer_id": "c", "order_id": "id", "rule_id": str(rule), "amount": "cb",
            "status": f"CASE WHEN refunded THEN 'reversed' WHEN {credited} THEN 'credited' ELSE 'pending' END",
            "due_at": "t + INTERVAL '1 day'", "credited_at": f"CASE WHEN {credited} THEN t + INTERVAL '1 day' END",
            "reversed_amount": "CASE WHEN refunded THEN cb ELSE 0 END",
            "reversed_at": "CASE WHEN refunded THEN refunded_at + INTERVAL '1 second' END", "created_at": "t"})
        cursor.execute(f"INSERT INTO discounts_cashbacktransaction ({cols}) SELECT {exprs} FROM (SELECT row_number() "
                       "OVER (ORDER BY id) AS n, * FROM bench_ord WHERE cb > 0) x", params)
        cols, exprs, params = _defaults(ReferralReward, {
            "id": "n", "referrer_id": "pg_temp.referrer(c)", "referred_id": "c", "order_id": "id",
            "amount": "paid * 10 / 100", "created_at": "t + INTERVAL '1 second'"})
        cursor.execute(f"INSERT INTO shop_referralreward ({cols}) SELECT {exprs} FROM (SELECT row_number() OVER "
                       "(ORDER BY id) AS n, * FROM bench_ord WHERE i = 1 AND NOT cancelled "
                       "AND pg_temp.referrer(c) IS NOT NULL) x", params)
        step("discount uses, cashback, referrals")
        cols, exprs, params = _defaults(WalletTransaction, {
            "id": "row_number() OVER (ORDER BY t, c, seq, ref)", "customer_id": "c", "amount": "amount",
            "balance_after": "bal", "reason": "reason", "source": "source", "created_at": "t"})
        cursor.execute(f"INSERT INTO shop_wallettransaction ({cols}) SELECT {exprs} FROM (SELECT *, sum(amount) OVER "
                       "(PARTITION BY c ORDER BY t, seq, ref ROWS UNBOUNDED PRECEDING) AS bal FROM bench_l) x", params)
        step("ledger")
        cursor.execute("UPDATE shop_customer SET balance_amount = s.total FROM (SELECT customer_id, sum(amount) AS total "
                       "FROM shop_wallettransaction GROUP BY customer_id) s WHERE s.customer_id = shop_customer.id")
        step("balances (UPDATE ... FROM sum)")
        for table in LOADED:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        for table in STAGING:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute("SET session_replication_role = origin")
        for statement in again:
            cursor.execute(statement)
        step(f"indexes and constraints ({len(again)})")
        cursor.execute("VACUUM ANALYZE")
        step("vacuum analyze")
        cursor.execute("RESET ALL")
    return steps
