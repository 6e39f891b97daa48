"""Every figure of the reports against the story of tests/reports/story.py, worked out by hand
(the arithmetic is in the comments). Aban 1405 = 2026-10-23 .. 2026-11-21, Azar 1405 =
2026-11-22 .. 2026-12-21, both at Tehran midnights; the reports are read on 1405/10/07.

Wallets at the end of Aban: D 200,000-80,000+4,000-100,000+5,000 = 29,000;
A 300,000-80,000+4,000 = 224,000; B 250,000-216,000 = 34,000; E, R 0.
At the end of Azar: D 29,000; A 224,000+8,000+100,000-270,000 = 62,000;
B 34,000+21,600+172,800-17,280 = 211,120; C 100,000-80,000+4,000+80,000-4,000 = 100,000;
E 100,000-100,000+5,000 = 5,000; F 80,000-80,000+4,000 = 4,000; R -140,000 (on credit).
Now (Dey): D 29,000+50,000 = 79,000; A 62,000+27,000 = 89,000; the others as at Azar's end."""

import pytest
import time_machine

from discounts.models import CashbackTransaction
from reports.services import JALALI, period_parse, report_cohorts, report_customers, report_financial, report_sales, series
from reports.services.cohorts import cohort_months_missing
from reports.services.financial import cashback_pending_at
from reports.services.rollup import rollup_missing
from tests.reports.story import NOW, build, tehran


@pytest.fixture(params=["live", "kept"])
def story(request, db, settings):
    """The story, read live from the rows, and again with every closed day rolled up (the
    figures must not change: reports.services.rollup)."""
    shop = build(settings)
    with time_machine.travel(NOW, tick=False):
        if request.param == "kept":
            assert rollup_missing()["days"] == 66  # 1405/08/01 (the first customer) to 1405/10/06 (yesterday)
            assert cohort_months_missing() == 4  # Aban and Azar; October and November (closed, since the first customer)
        yield shop


def test_the_story_is_what_the_comments_say(story):
    """The wallets the hand arithmetic starts from (if these move, the story changed)."""
    balances = {name: story.customer(name).balance_amount for name in "ABCDEFR"}
    assert balances == {"A": 89_000, "B": 211_120, "C": 100_000, "D": 79_000, "E": 5_000, "F": 4_000, "R": -140_000}


def test_money_in_and_out_in_aban(story):
    report = report_financial(period_parse("1405-08"))
    assert report == {
        "from": "2026-10-23", "to": "2026-11-21", "calendar": JALALI, "label": "1405/08/01 – 1405/08/30",
        "orders": 5,  # D1, A1, E1 (free), D2, B1 at 23:50 on the 30th
        "gross_amount": 670_000,  # 4 x 100,000 + 270,000
        "discount_amount": 194_000,  # 20,000 + 20,000 + 100,000 + 0 + 54,000
        "discount_amount_by_kind": {"first_purchase": 94_000, "code": 100_000},  # 20,000+20,000+54,000; FREE100
        "net_amount": 476_000,  # 80,000 + 80,000 + 0 + 100,000 + 216,000
        "average_order_amount": 95_200,  # 476,000 / 5 (the free order counts)
        "refund_amount": 0,  # B1's refund is in Azar, when it was made
        "refund_to_provider_amount": 0,
        "cashback_paid_amount": 13_000,  # 4,000 (D1) + 4,000 (A1) + 5,000 (D2); B1's is due in Azar
        "cashback_reversed_amount": 0,
        "referral_reward_amount": 0,
        "commission_amount": 0, "adjustment_amount": 0, "traffic_amount": 0,
        "topup_amount": 750_000,  # 200,000 + 300,000 + 250,000
        "topup_amount_by_method": {"card": 750_000, "stars": 0, "zarinpal": 0, "nowpayments": 0},
        "topups": 3,
        "wallet_liability_amount": 287_000,  # 29,000 + 224,000 + 34,000
        "wallet_receivable_amount": 0,
        "cashback_pending_amount": 21_600,  # B1's, credited on 09/08
        "liability_amount": 308_600,  # 287,000 + 21,600
        "new_customers": 5,  # D, A, R, E, B (23:40 on the 30th)
        "buyers": 4, "new_buyers": 4, "returning_buyers": 0,  # D, A, E, B
        "reconciliation": report["reconciliation"],
    }
    assert report["reconciliation"]["ok"] is True and report["reconciliation"]["problems"] == []
    assert report["reconciliation"]["scope"] == "2026-10-23..2026-11-21"


def test_money_in_and_out_in_azar(story):
    report = report_financial(period_parse("1405-09"))
    assert report == {
        "from": "2026-11-22", "to": "2026-12-21", "calendar": JALALI, "label": "1405/09/01 – 1405/09/30",
        "orders": 6,  # C1 (00:15 on the 1st), R1, R2, F1, E2, A2
        "gross_amount": 770_000,  # 5 x 100,000 + 270,000
        "discount_amount": 100_000,  # 20,000 (C1) + 20,000 (F1) + 2 x 30,000 (the reseller's price)
        "discount_amount_by_kind": {"first_purchase": 40_000, "other": 60_000},
        "net_amount": 670_000,  # 80,000 + 2 x 70,000 + 80,000 + 100,000 + 270,000
        "average_order_amount": 111_666,  # 670,000 / 6, rounded down
        "refund_amount": 252_800,  # C1 in full 80,000 + B1 pro rata 216,000 x 72/90 = 172,800
        "refund_to_provider_amount": 0,
        "cashback_paid_amount": 34_600,  # C1 4,000 + F1 4,000 + B1 21,600 + E2 5,000
        "cashback_reversed_amount": 21_280,  # C1 4,000 + B1 21,600 x 172,800/216,000 = 17,280
        "referral_reward_amount": 8_000,  # 10 % of C's 80,000, to A
        "commission_amount": 0, "adjustment_amount": 0, "traffic_amount": 0,
        "topup_amount": 380_000,  # card C 100,000 + E 100,000 + A 100,000, Stars F 80,000
        "topup_amount_by_method": {"card": 300_000, "stars": 80_000, "zarinpal": 0, "nowpayments": 0},
        "topups": 4,
        # at the end of Azar, from today's balances less Dey's rows (D's 50,000, A's 27,000):
        "wallet_liability_amount": 411_120,  # 29,000+62,000+211,120+100,000+5,000+4,000
        "wallet_receivable_amount": 140_000,  # R's balance below zero
        "cashback_pending_amount": 27_000,  # A2's 10 %, credited on 10/06
        "liability_amount": 438_120,  # 411,120 + 27,000
        "new_customers": 2,  # C (00:05 on the 1st, still the 21st in UTC), F
        "buyers": 5, "new_buyers": 3, "returning_buyers": 2,  # C, R, F new; E, A bought in Aban
        "reconciliation": report["reconciliation"],
    }
    assert report["reconciliation"]["ok"] is True and report["reconciliation"]["problems"] == []


@pytest.mark.parametrize(("day", "orders", "net", "topups", "joined"), [
    # the Gregorian days in Tehran: B's top-up and order at 23:45/23:50 on the 21st, C's top-up
    # and order at 00:10/00:15 on the 22nd (20:40/20:45 UTC on the 21st), then R's two
    ("2026-11-21", 1, 216_000, 250_000, 1),
    ("2026-11-22", 3, 220_000, 100_000, 1),  # 80,000 + 2 x 70,000
])
def test_a_day_is_cut_at_the_tehran_midnight(story, day, orders, net, topups, joined):
    report = report_financial(period_parse(day), with_reconciliation=False)
    assert (report["orders"], report["net_amount"], report["topup_amount"], report["new_customers"]) == (
        orders, net, topups, joined)
    assert "reconciliation" not in report


def test_the_liability_of_a_day_in_the_past_and_of_today(story):
    # at the end of 1405/08/30: Aban's wallets, and B1's 21,600 not yet due
    day = report_financial(period_parse("1405-08-30"), with_reconciliation=False)
    assert (day["wallet_liability_amount"], day["cashback_pending_amount"]) == (287_000, 21_600)
    # a period still running ends after now: today's balances (79,000+89,000+211,120+100,000+5,000+4,000)
    today = report_financial(period_parse("today"), with_reconciliation=False)
    assert (today["wallet_liability_amount"], today["wallet_receivable_amount"]) == (488_120, 140_000)
    assert today["cashback_pending_amount"] == 0


def test_cashback_cancelled_after_the_end_was_still_pending_then(story):
    tx = CashbackTransaction.objects.get(order=story.orders["A2"])
    CashbackTransaction.objects.filter(pk=tx.pk).update(status=CashbackTransaction.Status.CANCELLED, credited_at=None,
                                                        reversed_at=tehran(1405, 10, 3))
    assert cashback_pending_at(tehran(1405, 10, 1, 0, 0)) == 27_000  # cancelled on 10/03: pending on 10/01
    assert cashback_pending_at(tehran(1405, 10, 4, 0, 0)) == 0


def test_sales_in_azar(story):
    report = report_sales(period_parse("1405-09"))
    monthly, quarterly = story.monthly.pk, story.quarterly.pk
    assert report == {
        "from": "2026-11-22", "to": "2026-12-21",
        "by_plan": [  # by net amount, largest first
            {"key": monthly, "name": "Monthly", "orders": 5, "gross_amount": 500_000,
             "net_amount": 400_000},  # 80,000 + 70,000 + 70,000 + 80,000 + 100,000
            {"key": quarterly, "name": "Quarterly", "orders": 1, "gross_amount": 270_000, "net_amount": 270_000},
        ],
        "by_panel": [
            # R1, R2, E2, A2 have no account on a panel: 70,000 + 70,000 + 100,000 + 270,000
            {"key": None, "name": "", "orders": 4, "gross_amount": 570_000, "net_amount": 510_000},
            {"key": story.finland.pk, "name": "Finland", "orders": 2, "gross_amount": 200_000,
             "net_amount": 160_000},  # C1, F1
        ],
        "by_reseller": [
            {"key": story.reseller.pk, "name": "@r", "orders": 2, "gross_amount": 200_000, "net_amount": 140_000},
        ],
        "by_method": [
            {"key": "wallet", "orders": 5, "gross_amount": 670_000, "net_amount": 590_000},  # 670,000 - 80,000
            {"key": "stars", "orders": 1, "gross_amount": 100_000, "net_amount": 80_000},  # F1, placed by the payment
        ],
    }


def test_sales_in_aban_follow_an_account_along_its_renewals(story):
    report = report_sales(period_parse("1405-08"))
    assert report["by_plan"] == [
        {"key": story.monthly.pk, "name": "Monthly", "orders": 4, "gross_amount": 400_000,
         "net_amount": 260_000},  # 80,000 + 80,000 + 0 + 100,000
        {"key": story.quarterly.pk, "name": "Quarterly", "orders": 1, "gross_amount": 270_000, "net_amount": 216_000},
    ]
    # D's account points at D2 (the chain's latest): D1's order is found through its renewal
    assert report["by_panel"] == [
        {"key": story.germany.pk, "name": "Germany", "orders": 4, "gross_amount": 570_000,
         "net_amount": 476_000},  # D1 80,000 + A1 80,000 + D2 100,000 + B1 216,000
        {"key": None, "name": "", "orders": 1, "gross_amount": 100_000, "net_amount": 0},  # E1, free
    ]
    assert report["by_reseller"] == []
    assert report["by_method"] == [{"key": "wallet", "orders": 5, "gross_amount": 670_000, "net_amount": 476_000}]


def test_customers_in_azar(story):
    report = report_customers(period_parse("1405-09"))
    assert report == {
        "from": "2026-11-22", "to": "2026-12-21",
        # now (1405/10/07): A2 (to 1405/12) and E2 (to 1405/10/26); D2 ended 10/01, F1 10/06,
        # B1 and C1 were cut short by their refunds, R's accounts are for resale
        "active_subscribers": 2,
        # Monthly subscriptions that ended in Azar: D1 (09/01, continued by D2), A1 (09/05: A
        # bought a Quarterly, not a renewal), E1 (09/20: bought again on 09/25, within 14 days)
        "renewal": [{"plan_id": story.monthly.pk, "name": "Monthly", "ended": 3, "renewed": 2,
                     "renewal_rate_bp": 6666}],
        # ended 14 days before Azar's days (1405/08/17 .. 1405/09/16): D1 (renewed) and A1
        # (back 23 days after, not within 14): churned 1 of 2
        "churn": {"days": 14, "ended": 2, "churned": 1, "churn_rate_bp": 5000},
        "retail_net_amount": 530_000,  # 670,000 less R's 140,000 for resale
        "active_customers": 6,  # A, B, C, D, E, F had their own service some time in Azar
        "arpu_amount": 88_333,  # 530,000 / 6
        "paying_customers": 4,  # C, F, E, A
        "arppu_amount": 132_500,  # 530,000 / 4
    }


def test_customers_in_aban(story):
    report = report_customers(period_parse("1405-08"))
    assert report == {
        "from": "2026-10-23", "to": "2026-11-21", "active_subscribers": 2,
        "renewal": [],  # nothing of anyone's own ended in Aban (D1 ends on 09/01)
        "churn": {"days": 14, "ended": 0, "churned": 0, "churn_rate_bp": 0},
        "retail_net_amount": 476_000,
        "active_customers": 4,  # D, A, E, B (R has no service of their own)
        "arpu_amount": 119_000,  # 476,000 / 4
        "paying_customers": 3,  # D, A, B: E's order was free
        "arppu_amount": 158_666,  # 476,000 / 3
    }


def test_churn_with_another_window(story):
    # 25 days: ended 25 days before Azar's days, 1405/08/06 .. 1405/09/05 -> D1 and A1 (10:10
    # on 09/05); A came back after 23 days, within 25: nobody churned
    from reports.services.customers import churn

    assert churn(period_parse("1405-09"), days=25) == {"days": 25, "ended": 2, "churned": 0, "churn_rate_bp": 0}


def test_cohorts_by_jalali_month(story):
    report = report_cohorts(4, calendar=JALALI)
    assert report == {"months": 4, "calendar": JALALI, "cohorts": [
        {"cohort": "1405/07", "customers": 0, "revenue_amount": [0, 0, 0, 0], "buyers": [0, 0, 0, 0],
         "ltv_amount": [0, 0, 0, 0]},
        # D, A, R, E, B. Aban: 80,000 + 80,000 + 0 + 100,000 + (216,000 - 172,800 refunded) = 303,200;
        # Azar: R 140,000 + E 100,000 + A 270,000 = 510,000. LTV: 303,200/5, 813,200/5
        {"cohort": "1405/08", "customers": 5, "revenue_amount": [303_200, 510_000, 0], "buyers": [4, 3, 0],
         "ltv_amount": [60_640, 162_640, 162_640]},
        # C, F. Azar: C 80,000 - 80,000 + F 80,000
        {"cohort": "1405/09", "customers": 2, "revenue_amount": [80_000, 0], "buyers": [2, 0],
         "ltv_amount": [40_000, 40_000]},
        {"cohort": "1405/10", "customers": 0, "revenue_amount": [0], "buyers": [0], "ltv_amount": [0]},
    ]}


def test_a_daily_series_across_the_month_boundary(story):
    data = series(period_parse("1405/08/30 1405/09/06", calendar=JALALI))
    assert data == {
        "labels": ["1405/08/30", "1405/09/01", "1405/09/02", "1405/09/03", "1405/09/04", "1405/09/05", "1405/09/06"],
        # B1 at 23:50; C1 at 00:15 + R's 2 x 70,000; F1 at 00:05 on the 6th (the 26th in UTC)
        "net_amount": [216_000, 220_000, 0, 0, 0, 0, 80_000],
        "orders": [1, 3, 0, 0, 0, 0, 1],
        "new_customers": [1, 1, 0, 0, 0, 1, 0],  # B, C, F (at 23:50 on the 5th)
    }


def test_weekly_and_monthly_series(story):
    weeks = series(period_parse("1405-09"), "week")
    assert weeks == {
        "labels": ["1405/09/01", "1405/09/07", "1405/09/14", "1405/09/21", "1405/09/28"],  # from Saturdays
        "net_amount": [300_000, 0, 0, 100_000, 270_000],  # C1+R1+R2+F1; E2 on 09/25; A2 on 09/28
        "orders": [4, 0, 0, 1, 1],
        "new_customers": [2, 0, 0, 0, 0],
    }
    months = series(period_parse("1405/08/01 1405/09/30", calendar=JALALI), "month")
    assert months == {"labels": ["1405/08", "1405/09"], "net_amount": [476_000, 670_000], "orders": [5, 6],
                      "new_customers": [5, 2]}
