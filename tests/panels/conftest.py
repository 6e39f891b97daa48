"""Panels wired to the fake panel servers, for the lifecycle tests."""

import pytest

from panels import services
from tests.factories import CustomerFactory, PlanFactory
from tests.fakes.marzban import FakeMarzban
from tests.fakes.xui import FakeXui

PASSWORD = "Panel-Pa55word-xyz"
GB = 1024**3


@pytest.fixture
def marzban():
    fake = FakeMarzban(flavor="marzban", password=PASSWORD, subscription_prefix=None)
    fake.add_inbound("vless", "VLESS TCP", port=443)
    yield fake
    fake.stop()


@pytest.fixture
def xui():
    fake = FakeXui(version="2.9.2", password=PASSWORD)
    fake.inbound_id = fake.add_inbound("vless", port=443, remark="main")
    yield fake
    fake.stop()


@pytest.fixture
def make_panel(db):
    def make(fake, *, name="main", capacity=0, plans=(), **extra):
        if isinstance(fake, FakeXui):
            fields = {"kind": "3x-ui", "base_url": fake.url, "public_base_url": fake.sub_url,
                      "inbounds": [fake.inbound_id]}
        else:
            fields = {"kind": fake.flavor, "base_url": fake.url, "public_base_url": "https://sub.example.com",
                      "inbounds": ["VLESS TCP"]}
        panel = services.panel_create(name=name, username="admin", password=PASSWORD, capacity=capacity,
                                      timeout_seconds=3, **{**fields, **extra})
        for plan in plans:
            panel.plans.add(plan)
        return panel

    return make


@pytest.fixture
def plan(db):
    return PlanFactory(name="Gold", duration_days=30, traffic_gb=10, device_limit=2, price_amount=100_000)


@pytest.fixture
def rich_customer(db):
    return CustomerFactory.with_balance(10_000_000, language="en")
