"""How the shop shows things (formatting): amounts, dates by language and zone, configs."""

from datetime import UTC, datetime, timedelta

from django.utils import translation

from vpnbot.shop import formatting
from vpnbot.shop.models import Customer, Subscription


def test_money_has_thousands_separators_and_the_currency(settings):
    settings.CURRENCY = "Toman"
    with translation.override("en"):
        assert formatting.money(1_250_000) == "1,250,000 Toman"
    settings.CURRENCY = "USD"
    assert formatting.money(5) == "5 USD"


def test_a_date_is_jalali_in_persian_and_gregorian_in_english_in_the_customers_zone():
    moment = datetime(2026, 3, 20, 21, 0, tzinfo=UTC)  # 00:30 on 21 March in Tehran: Nowruz, 1405/01/01
    assert formatting.format_date(moment, Customer(language="fa", time_zone="Asia/Tehran")) == "1405/01/01 00:30"
    assert formatting.format_date(moment, Customer(language="en", time_zone="Asia/Tehran")) == "2026-03-21 00:30"
    assert formatting.format_date(moment, Customer(language="en", time_zone="UTC")) == "2026-03-20 21:00"


def test_days_left_is_never_negative():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert formatting.days_left(Subscription(expires_at=now + timedelta(days=3, hours=5)), now) == 3
    assert formatting.days_left(Subscription(expires_at=now - timedelta(days=3)), now) == 0


def test_a_config_is_measured_as_sent_escaped():
    assert formatting.config_html("a&b<c>") == "a&amp;b&lt;c&gt;"
    assert formatting.config_fits_message("x" * formatting.MAX_CONFIG_LENGTH)
    assert not formatting.config_fits_message("&" * (formatting.MAX_CONFIG_LENGTH // 5 + 1))
