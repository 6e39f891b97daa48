"""The Mini App's API as Telegram's client calls it: initData signed here the way Telegram signs
it (written from Telegram's description, not from miniapp/auth.py), sent as `tma <initData>`."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import quote, urlencode

import pytest

from vpnbot.shop import provisioning
from vpnbot.shop.models import Customer
from vpnbot.shop.provisioning import AccountInfo, Provisioner, ProvisioningUnavailable

_user_ids = itertools.count(5_500_000)
# what Telegram puts in `signature` (Ed25519, base64url): part of what the hash covers
SIGNATURE = "kYx2x3Zc0Q1FakeEd25519SignatureForTestsOnly_abcdefghijklmnopqrstuvwxyz-0123456789ABCDEFGH"


def init_data_for(user: dict, bot_token: str, auth_date: int | None = None, **extra) -> str:
    """A correctly signed initData string: every field but `hash`, sorted, as key=value lines;
    the key HMAC-SHA256(key="WebAppData", msg=token); the hash hex HMAC-SHA256 of the lines."""
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "auth_date": str(int(time.time()) if auth_date is None else auth_date),
              "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False), "signature": SIGNATURE,
              "chat_type": "sender", "chat_instance": "-3788475317572404878"}
    fields.update({key: str(value) for key, value in extra.items()})
    lines = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, lines.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def telegram_user(language_code: str = "en", **fields) -> dict:
    user = {"id": next(_user_ids), "first_name": "Sara", "last_name": "K", "username": None,
            "language_code": language_code, "allows_write_to_pm": True,
            "photo_url": "https://t.me/i/userpic/320/x.svg"}
    user["username"] = f"sara{user['id']}"
    user.update(fields)
    return user


class MiniApp:
    """One Telegram user calling /app/api/ from the Mini App."""

    def __init__(self, client, settings, user: dict | None = None):
        self.client = client
        self.settings = settings
        self.user = user or telegram_user()

    def auth(self, **extra) -> str:
        return "tma " + init_data_for(self.user, self.settings.TELEGRAM_BOT_TOKEN, **extra)

    def get(self, path: str, params: dict | None = None, **extra):
        return self.client.get("/app/api/" + path, params or {}, HTTP_AUTHORIZATION=self.auth(**extra))

    def post(self, path: str, data=None, **extra):
        return self.client.post("/app/api/" + path, data=json.dumps(data if data is not None else {}),
                                content_type="application/json", HTTP_AUTHORIZATION=self.auth(**extra))

    def put(self, path: str, data=None, **extra):
        return self.client.put("/app/api/" + path, data=json.dumps(data if data is not None else {}),
                               content_type="application/json", HTTP_AUTHORIZATION=self.auth(**extra))

    @property
    def customer(self) -> Customer:
        customer = Customer.objects.filter(telegram_id=self.user["id"]).first()
        if customer is None:
            assert self.get("me").status_code == 200
            customer = Customer.objects.get(telegram_id=self.user["id"])
        return customer


@pytest.fixture(autouse=True)
def _english_and_no_cashback(settings):
    """Texts read in English; prices as the shop counts them (the discounts have their tests)."""
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.MINIAPP_ENABLED = True


@pytest.fixture
def miniapp(db, client, settings):
    return MiniApp(client, settings)


@pytest.fixture
def other(db, client, settings):
    """Another customer of the same shop."""
    return MiniApp(client, settings)


class FakeProvisioner(Provisioner):
    """Accounts on a panel as the seam reports them: test-set per subscription."""

    def __init__(self):
        self.accounts: dict[int, AccountInfo] = {}
        self.new_links = 0
        self.calls = 0

    def provision(self, subscription):
        return None

    def extend(self, subscription):
        return None

    def account_info(self, subscriptions):
        self.calls += 1
        return {s.pk: self.accounts[s.pk] for s in subscriptions if s.pk in self.accounts}

    def give(self, subscription, **fields) -> AccountInfo:
        info = AccountInfo(**{"status": "active", "panel": 1, "account": f"acc{subscription.pk}", "used_bytes": 2 * 1024**3,
                              "limit_bytes": 10 * 1024**3, "subscription_url": f"https://sub.example.com/{subscription.pk}/a",
                              **fields})
        self.accounts[subscription.pk] = info
        return info

    def regenerate_link(self, subscription):
        info = self.accounts.get(subscription.pk)
        if info is None:
            raise ProvisioningUnavailable("This subscription's config is delivered by hand.")
        self.new_links += 1
        url = f"https://sub.example.com/{subscription.pk}/n{self.new_links}"
        self.accounts[subscription.pk] = AccountInfo(**{**info.__dict__, "subscription_url": url})
        return url

    def add_traffic(self, subscription, extra_bytes):
        info = self.accounts[subscription.pk]
        self.accounts[subscription.pk] = AccountInfo(**{**info.__dict__, "limit_bytes": info.limit_bytes + extra_bytes})


@pytest.fixture
def provisioner(monkeypatch):
    fake = FakeProvisioner()
    monkeypatch.setattr(provisioning, "_registered", fake)
    return fake
