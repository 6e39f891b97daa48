"""Who may move money or send messages: the roles (Support, Accountant, Owner) against every
such endpoint of the staff API and every such admin action. A refusal changes nothing."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from antifraud import services as antifraud_services
from antifraud.models import Ban, RiskCase, Whitelist
from backups import tasks as backup_tasks
from crm.models import Campaign
from discounts.models import SmartDiscount
from notifications import services as notification_services
from notifications.models import Broadcast, Notification, ScheduledMessage
from tests.backups.factories import BackupFactory
from tests.crm.factories import CampaignFactory
from tests.discounts.factories import SmartDiscountFactory
from tests.factories import CustomerFactory, PaymentFactory, PlanFactory, SubscriptionFactory
from tests.roles import api_as, user_in
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Order, Payment, Plan, Subscription

pytestmark = pytest.mark.django_db
ROLES = ("nobody", "support", "accountant", "owner")


@pytest.fixture
def queued_backups(monkeypatch):
    calls = []
    monkeypatch.setattr(backup_tasks.run_for_chat, "delay", lambda *args: calls.append(args))
    return calls


@dataclass
class World:
    payment: Payment
    order: Order
    subscription: Subscription
    plan: Plan
    customer: object
    broadcast: Broadcast
    running: Broadcast
    campaign: Campaign
    scheduled: Campaign
    backup: object
    discount: SmartDiscount
    notification: Notification
    held_case: RiskCase
    flagged_case: RiskCase
    suspect: object
    banned: object
    ban: Ban
    schedule: ScheduledMessage


@pytest.fixture
def world(fake_telegram, queued_backups):
    customer = CustomerFactory.with_balance(500_000)
    plan = PlanFactory(price_amount=100_000)
    order = shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                         idempotency_key="perm-test").order
    running = notification_services.broadcast_create(created_by=9001, text="Running")
    notification_services.broadcast_start(broadcast_id=running.pk)
    failed = Notification.objects.create(customer=customer, chat_id=customer.telegram_id, type="campaign",
                                         dedup_key="perm:failed", text="x", status="failed",
                                         scheduled_for=timezone.now(), created_at=timezone.now())
    suspect, banned = CustomerFactory(), CustomerFactory()
    ban = antifraud_services.customer_ban(customer_id=banned.pk, by="admin:test", reason="reused receipts")
    held_case = RiskCase.objects.create(subject="trial", subject_id=suspect.pk, customer=suspect, score=80,
                                        status="held", reasons=["account 1 minute old"])
    flagged_case = RiskCase.objects.create(subject="referral", subject_id=suspect.pk, customer=suspect, score=40,
                                           status="flagged", reasons=["the inviter brought 5 new accounts"])
    return World(held_case=held_case, flagged_case=flagged_case, suspect=suspect, banned=banned, ban=ban,
                 payment=PaymentFactory(customer=customer), order=order, customer=customer, plan=plan,
                 subscription=SubscriptionFactory(customer=customer, plan=plan, config=""),
                 broadcast=notification_services.broadcast_create(created_by=9001, text="Draft"),
                 running=running, campaign=CampaignFactory(), backup=BackupFactory(),
                 scheduled=CampaignFactory(status="scheduled", scheduled_for=timezone.now() + timedelta(days=1)),
                 discount=SmartDiscountFactory(), notification=failed,
                 schedule=notification_services.scheduled_create(text="Weekly", starts_at=timezone.now() + timedelta(days=1),
                                                                 repeat="weekly"))


def _status(obj) -> str:
    obj.refresh_from_db()
    return obj.status


# name, method, url, body, roles allowed, what a refusal must leave unchanged
API_CASES = [
    ("approve a top-up", "post", lambda w: f"/api/v1/topups/{w.payment.pk}/approve/", None,
     {"support", "owner"}, lambda w: _status(w.payment)),
    ("reject a top-up", "post", lambda w: f"/api/v1/topups/{w.payment.pk}/reject/", {"reason": "blurry"},
     {"support", "owner"}, lambda w: _status(w.payment)),
    ("refund an order", "post", lambda w: f"/api/v1/orders/{w.order.pk}/refund/", {"mode": "full", "reason": "x"},
     {"owner"}, lambda w: _status(w.order)),
    ("buy for a customer", "post", lambda w: "/api/v1/orders/",
     {"customer": None, "plan": None, "quantity": 1, "idempotency_key": "perm-2"},
     {"owner"}, lambda w: Order.objects.count()),
    ("create a plan", "post", lambda w: "/api/v1/plans/", {"name": "Free", "duration_days": 30, "price_amount": 0},
     {"owner"}, lambda w: Plan.objects.count()),
    ("change a plan's price", "patch", lambda w: f"/api/v1/plans/{w.plan.pk}/", {"price_amount": 1},
     {"owner"}, lambda w: Plan.objects.get(pk=w.plan.pk).price_amount),
    ("deliver a config", "post", lambda w: f"/api/v1/subscriptions/{w.subscription.pk}/config/",
     {"config": "vless://example"}, {"support", "owner"},
     lambda w: Subscription.objects.get(pk=w.subscription.pk).config),
    ("start a broadcast", "post", lambda w: "/api/v1/broadcasts/", {"text": "Sale!", "start": True},
     {"owner"}, lambda w: Broadcast.objects.filter(status="running").count()),
    ("pause a broadcast", "post", lambda w: f"/api/v1/broadcasts/{w.running.pk}/pause/", None,
     {"owner"}, lambda w: _status(w.running)),
    ("cancel a broadcast", "post", lambda w: f"/api/v1/broadcasts/{w.running.pk}/cancel/", None,
     {"owner"}, lambda w: _status(w.running)),
    ("send a campaign", "post", lambda w: f"/api/v1/crm/campaigns/{w.campaign.pk}/send/", {},
     {"owner"}, lambda w: _status(w.campaign)),
    ("stop a campaign", "post", lambda w: f"/api/v1/crm/campaigns/{w.scheduled.pk}/stop/", None,
     {"owner"}, lambda w: _status(w.scheduled)),
    ("create a discount", "post", lambda w: "/api/v1/discounts/",
     {"name": "All free", "kind": "first_purchase", "percent_bp": 10000},
     {"owner"}, lambda w: SmartDiscount.objects.count()),
    ("release a risk case", "post", lambda w: f"/api/v1/risk/cases/{w.held_case.pk}/release/", {"reason": "ok"},
     {"owner"}, lambda w: _status(w.held_case)),
    ("confirm a risk hold", "post", lambda w: f"/api/v1/risk/cases/{w.held_case.pk}/confirm/", {"reason": "fraud"},
     {"owner"}, lambda w: _status(w.held_case)),
    ("ban a customer", "post", lambda w: f"/api/v1/customers/{w.suspect.pk}/ban/", {"reason": "fraud"},
     {"owner"}, lambda w: Ban.objects.filter(lifted_at__isnull=True).count()),
    ("unban a customer", "post", lambda w: f"/api/v1/customers/{w.banned.pk}/unban/", {"reason": "cleared"},
     {"owner"}, lambda w: Ban.objects.filter(lifted_at__isnull=True).count()),
    ("schedule a message", "post", lambda w: "/api/v1/scheduled-messages/",
     {"text": "Sale!", "starts_at": "2099-01-01T10:00:00+00:00"}, {"owner"}, lambda w: ScheduledMessage.objects.count()),
    ("cancel a scheduled message", "post", lambda w: f"/api/v1/scheduled-messages/{w.schedule.pk}/cancel/", None,
     {"owner"}, lambda w: _status(w.schedule)),
    ("make a backup", "post", lambda w: "/api/v1/backups/", None, {"owner"}, None),
    ("verify a backup", "post", lambda w: f"/api/v1/backups/{w.backup.pk}/verify/", None, {"owner"}, None),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_money_and_message_endpoints_by_role(world, queued_backups, role, case):
    _name, method, url, body, allowed, state = case
    if body and "customer" in body:
        body = {**body, "customer": world.customer.pk, "plan": world.plan.pk}
    before = state(world) if state else None
    response = getattr(api_as(role), method)(url(world), body, format="json")
    if role in allowed:
        assert response.status_code in (200, 201, 202), response.content
    else:
        assert response.status_code == 403, response.content
        if state:
            assert state(world) == before
        else:
            assert queued_backups == []


@pytest.mark.parametrize("role", ROLES)
def test_reading_needs_the_view_permission(world, role):
    readable = {"support", "accountant", "owner"}
    client = api_as(role)
    for url in ("/api/v1/customers/", "/api/v1/topups/", "/api/v1/payments/", "/api/v1/orders/",
                "/api/v1/risk/cases/", f"/api/v1/risk/cases/{world.held_case.pk}/"):
        assert (client.get(url).status_code == 200) == (role in readable), (role, url)
    assert (client.get("/api/v1/backups/").status_code == 200) == (role in {"accountant", "owner"})
    assert (client.get("/api/v1/broadcasts/").status_code == 200) == (role in {"accountant", "owner"})
    assert (client.get("/api/v1/scheduled-messages/").status_code == 200) == (role in {"accountant", "owner"})


# admin actions: changelist url, action name, object, roles allowed, what a refusal leaves unchanged
ADMIN_CASES = [
    ("approve top-ups", "/admin/shop/payment/", "approve", lambda w: w.payment, {"support", "owner"},
     lambda w: _status(w.payment)),
    ("refund orders", "/admin/shop/order/", "refund", lambda w: w.order, {"owner"}, lambda w: _status(w.order)),
    ("start broadcasts", "/admin/notifications/broadcast/", "start", lambda w: w.broadcast, {"owner"},
     lambda w: _status(w.broadcast)),
    ("resend notifications", "/admin/notifications/notification/", "resend", lambda w: w.notification, {"owner"},
     lambda w: _status(w.notification)),
    ("send campaigns", "/admin/crm/campaign/", "send", lambda w: w.campaign, {"owner"}, lambda w: _status(w.campaign)),
    ("pause discounts", "/admin/discounts/smartdiscount/", "pause", lambda w: w.discount, {"owner"},
     lambda w: _status(w.discount)),
    ("restore a backup", "/admin/backups/backup/", "restore_action", lambda w: w.backup, {"owner"}, None),
    ("release risk cases", "/admin/antifraud/riskcase/", "release", lambda w: w.held_case, {"owner"},
     lambda w: _status(w.held_case)),
    ("confirm risk holds", "/admin/antifraud/riskcase/", "confirm", lambda w: w.flagged_case, {"owner"},
     lambda w: _status(w.flagged_case)),
    ("lift bans", "/admin/antifraud/ban/", "lift", lambda w: w.ban, {"owner"},
     lambda w: Ban.objects.get(pk=w.ban.pk).lifted_at),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
def test_admin_actions_by_role(client, world, queued_backups, role, case):
    _name, url, action, obj, allowed, state = case
    client.force_login(user_in(role))
    before = state(world) if state else None
    form = {"action": action, "_selected_action": [obj(world).pk], "confirm": "yes", "mode": "full",
            "reason": "checked", "at": ""}
    response = client.post(url, form)
    if role in allowed:
        assert response.status_code in (200, 302)
        changed = state(world) != before if state else bool(queued_backups)
        assert changed, f"{role} was allowed to {action} but nothing happened"
    else:
        assert response.status_code in (200, 302, 403)
        if state:
            assert state(world) == before
        else:
            assert queued_backups == []


@pytest.mark.parametrize("role", ROLES)
def test_backup_create_and_download_pages_by_role(client, world, queued_backups, role):
    client.force_login(user_in(role))
    create = client.post("/admin/backups/backup/create/", {"confirm": "yes"})
    download = client.get(f"/admin/backups/backup/{world.backup.pk}/download/")
    if role == "owner":
        assert create.status_code == 302 and len(queued_backups) == 1
        assert download.status_code == 200
    else:
        assert create.status_code == 403 and queued_backups == []
        assert download.status_code == 403


def test_the_roles_exist_with_what_they_promise():
    support = Group.objects.get(name="Support")
    assert support.permissions.filter(codename="review_payment").exists()
    assert not support.permissions.filter(codename__in=["refund_order", "send_broadcast", "restore_backup"]).exists()
    accountant = Group.objects.get(name="Accountant")
    assert not accountant.permissions.exclude(codename__startswith="view_").exists()
    owner = Group.objects.get(name="Owner")
    for codename in ("review_payment", "refund_order", "send_broadcast", "send_campaign", "restore_backup",
                     "download_backup", "create_backup", "resend_notification"):
        assert owner.permissions.filter(codename=codename).exists(), codename


@pytest.mark.parametrize("role", ROLES)
def test_the_money_on_the_admins_front_page_by_role(client, role):
    """The owner's dashboard (reports.view_reports): the Owner and the Accountant read it; Support
    and a bare staff user get the usual index."""
    client.force_login(user_in(role))
    page = client.get("/admin/")
    assert page.status_code == 200
    assert ('id="owner-dashboard"' in page.content.decode()) == (role in ("accountant", "owner"))



# --- the panels: who may add one, test it, sync it, repair or retry an account ----------------------------

@dataclass
class PanelWorld:
    panel: object
    empty: object
    failed: object
    active: object
    repairs: list


@pytest.fixture
def panel_world(monkeypatch):
    from panels import services as panel_services
    from panels.models import PanelAccount
    from tests.fakes.marzban import FakeMarzban

    fake = FakeMarzban(flavor="marzban", password="Panel-Pa55word-xyz")
    fake.add_inbound("vless", "VLESS TCP", port=443)
    panel = panel_services.panel_create(name="perm", kind="marzban", base_url=fake.url, username="admin",
                                        password="Panel-Pa55word-xyz", inbounds=["VLESS TCP"], timeout_seconds=3)
    empty = panel_services.panel_create(name="perm-empty", kind="manual")
    customer = CustomerFactory()
    failed, active = (PanelAccount.objects.create(subscription=SubscriptionFactory(customer=customer), panel=panel,
                                                  name=f"perm_{status}", status=status)
                      for status in ("failed", "active"))
    repairs = []
    monkeypatch.setattr(panel_services, "account_repair", lambda *, account_id: repairs.append(account_id))
    monkeypatch.setattr(panel_services, "account_retry",
                        lambda *, subscription: PanelAccount.objects.filter(subscription=subscription)
                        .update(status="pending"))
    yield PanelWorld(panel=panel, empty=empty, failed=failed, active=active, repairs=repairs)
    fake.stop()


def _panel_state(w):
    w.panel.refresh_from_db()
    return (w.panel.checked_at, w.panel.synced_at, w.panel.capacity, _status(w.failed), list(w.repairs),
            type(w.panel).objects.count())


PANEL_API_CASES = [
    ("create a panel", "post", lambda w: "/api/v1/panels/", {"kind": "manual", "name": "new"}, {"owner"}),
    ("change a panel", "patch", lambda w: f"/api/v1/panels/{w.panel.pk}/", {"capacity": 9}, {"owner"}),
    ("delete a panel", "delete", lambda w: f"/api/v1/panels/{w.empty.pk}/", None, {"owner"}),
    ("test a panel", "post", lambda w: f"/api/v1/panels/{w.panel.pk}/test/", None, {"support", "owner"}),
    ("sync a panel", "post", lambda w: f"/api/v1/panels/{w.panel.pk}/sync/", None, {"support", "owner"}),
    ("repair an account", "post", lambda w: f"/api/v1/panel-accounts/{w.active.pk}/repair/", None,
     {"support", "owner"}),
    ("retry an account", "post", lambda w: f"/api/v1/panel-accounts/{w.failed.pk}/retry/", None,
     {"support", "owner"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", PANEL_API_CASES, ids=[c[0] for c in PANEL_API_CASES])
def test_api_panel_endpoints_by_role(panel_world, role, case):
    _name, method, url, body, allowed = case
    before = _panel_state(panel_world)
    response = getattr(api_as(role), method)(url(panel_world), body, format="json")
    if role in allowed:
        assert response.status_code in (200, 201, 202, 204), response.content
        assert _panel_state(panel_world) != before
    else:
        assert response.status_code == 403, response.content
        assert _panel_state(panel_world) == before


@pytest.mark.parametrize("role", ROLES)
def test_reading_panels_needs_the_view_permission(panel_world, role):
    client = api_as(role)
    for url in ("/api/v1/panels/", "/api/v1/panel-accounts/"):
        response = client.get(url)
        assert (response.status_code == 200) == (role in {"support", "accountant", "owner"}), (role, url)
        assert "Panel-Pa55word-xyz" not in response.content.decode()


PANEL_ADMIN_CASES = [
    ("test panels", "/admin/panels/panel/", "test_connection", lambda w: w.panel),
    ("sync panels", "/admin/panels/panel/", "sync_now", lambda w: w.panel),
    ("retry accounts", "/admin/panels/panelaccount/", "retry_provisioning", lambda w: w.failed),
    ("repair accounts", "/admin/panels/panelaccount/", "repair", lambda w: w.active),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", PANEL_ADMIN_CASES, ids=[c[0] for c in PANEL_ADMIN_CASES])
def test_admin_panel_actions_by_role(client, panel_world, role, case):
    _name, url, action, obj = case
    client.force_login(user_in(role))
    before = _panel_state(panel_world)
    response = client.post(url, {"action": action, "_selected_action": [obj(panel_world).pk], "confirm": "yes"})
    if role in {"support", "owner"}:
        assert response.status_code in (200, 302)
        assert _panel_state(panel_world) != before, f"{role} was allowed to {action} but nothing happened"
    else:
        assert response.status_code in (200, 302, 403)
        assert _panel_state(panel_world) == before


@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_adds_a_panel_in_the_admin(client, panel_world, role):
    client.force_login(user_in(role))
    client.post("/admin/panels/panel/add/", {"name": "admin-new", "kind": "manual", "status": "active",
                                             "capacity": "0", "timeout_seconds": "15", "inbounds": "[]"})
    assert type(panel_world.panel).objects.filter(name="admin-new").exists() == (role == "owner")


def test_the_roles_hold_the_panels_permissions():
    def codenames(group):
        return set(Group.objects.get(name=group).permissions.filter(content_type__app_label="panels")
                   .values_list("codename", flat=True))

    assert codenames("Support") == {"view_panel", "view_panelaccount", "operate_panel"}
    assert codenames("Accountant") == {"view_panel", "view_panelaccount"}
    assert {"add_panel", "change_panel", "delete_panel", "operate_panel"} <= codenames("Owner")


# --- the online payments: who may check one with its provider, credit, refuse or refund it ---------------

@dataclass
class PaymentsWorld:
    pending: object
    held: object
    paid: object
    stars: object


@pytest.fixture
def payments_world():
    from tests.payments.ops import stars_payment, use_fake_stars

    fake, restore = use_fake_stars()
    customer = CustomerFactory.with_balance(100_000)
    yield PaymentsWorld(pending=stars_payment(customer, status="pending", charge=None),
                        held=stars_payment(customer, status="held", charge="perm-held"),
                        paid=stars_payment(customer, status="paid", charge="perm-paid"), stars=fake)
    restore()


def _payments_state(w):
    return (_status(w.pending), _status(w.held), _status(w.paid), list(w.stars.checked), list(w.stars.refunded))


PAYMENTS_API_CASES = [
    ("check a payment", lambda w: f"/api/v1/payments/{w.pending.pk}/check/", None),
    ("credit a held payment", lambda w: f"/api/v1/payments/{w.held.pk}/credit/", {"reason": "seen"}),
    ("refuse a held payment", lambda w: f"/api/v1/payments/{w.held.pk}/refuse/", {"reason": "no"}),
    ("refund a payment", lambda w: f"/api/v1/payments/{w.paid.pk}/refund/", {"reason": "asked"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", PAYMENTS_API_CASES, ids=[c[0] for c in PAYMENTS_API_CASES])
def test_api_payments_endpoints_by_role(payments_world, role, case):
    _name, url, body = case
    before = _payments_state(payments_world)
    response = api_as(role).post(url(payments_world), body, format="json")
    if role == "owner":
        assert response.status_code == 200, response.content
        assert _payments_state(payments_world) != before
    else:
        assert response.status_code == 403, response.content
        assert _payments_state(payments_world) == before


@pytest.mark.parametrize("role", ROLES)
def test_reading_payments_needs_the_view_permission(payments_world, role):
    client = api_as(role)
    for url in ("/api/v1/payments/", f"/api/v1/payments/{payments_world.held.pk}/"):
        assert (client.get(url).status_code == 200) == (role in {"support", "accountant", "owner"}), (role, url)


PAYMENTS_ADMIN_CASES = [
    ("check payments", "check_now", lambda w: w.pending),
    ("credit held payments", "credit_held", lambda w: w.held),
    ("refuse payments", "refuse", lambda w: w.held),
    ("refund payments", "refund", lambda w: w.paid),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", PAYMENTS_ADMIN_CASES, ids=[c[0] for c in PAYMENTS_ADMIN_CASES])
def test_admin_payments_actions_by_role(client, payments_world, role, case):
    _name, action, obj = case
    client.force_login(user_in(role))
    before = _payments_state(payments_world)
    response = client.post("/admin/payments/payment/", {"action": action, "confirm": "yes", "reason": "checked",
                                                        "_selected_action": [obj(payments_world).pk]})
    if role == "owner":
        assert response.status_code in (200, 302)
        assert _payments_state(payments_world) != before, f"{role} was allowed to {action} but nothing happened"
    else:
        assert response.status_code in (200, 302, 403)
        assert _payments_state(payments_world) == before


def test_the_roles_hold_the_payments_permissions():
    def codenames(group):
        return set(Group.objects.get(name=group).permissions.filter(content_type__app_label="payments")
                   .values_list("codename", flat=True))

    assert codenames("Support") == codenames("Accountant") == {"view_payment"}
    assert {"view_payment", "decide_payment", "refund_payment"} <= codenames("Owner")


# --- the resellers: who may promote, change, demote one, or issue and revoke their API keys ---------------

@dataclass
class ResellersWorld:
    reseller: object
    token: object
    customer: object


@pytest.fixture
def resellers_world():
    from resellers import services as reseller_services

    reseller = reseller_services.reseller_promote(customer_id=CustomerFactory().pk, by="test", discount_bp=1000)
    token, _key = reseller_services.token_create(reseller_id=reseller.pk, name="perm")
    return ResellersWorld(reseller=reseller, token=token, customer=CustomerFactory())


def _resellers_state(w):
    from resellers.models import Reseller, Token

    reseller = Reseller.objects.get(pk=w.reseller.pk)
    return (Reseller.objects.count(), reseller.discount_bp, reseller.is_active, Token.objects.count(),
            Token.objects.filter(revoked_at__isnull=False).count())


RESELLER_API_CASES = [
    ("promote a reseller", "post", lambda w: "/api/v1/resellers/", lambda w: {"customer": w.customer.pk}),
    ("change a reseller", "patch", lambda w: f"/api/v1/resellers/{w.reseller.pk}/", lambda w: {"discount_bp": 2000}),
    ("issue a reseller key", "post", lambda w: f"/api/v1/resellers/{w.reseller.pk}/tokens/", lambda w: {"name": "x"}),
    ("revoke a reseller key", "post", lambda w: f"/api/v1/resellers/{w.reseller.pk}/tokens/{w.token.pk}/revoke/",
     lambda w: None),
    ("demote a reseller", "post", lambda w: f"/api/v1/resellers/{w.reseller.pk}/demote/", lambda w: None),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", RESELLER_API_CASES, ids=[c[0] for c in RESELLER_API_CASES])
def test_api_reseller_endpoints_by_role(resellers_world, role, case):
    _name, method, url, body = case
    before = _resellers_state(resellers_world)
    response = getattr(api_as(role), method)(url(resellers_world), body(resellers_world), format="json")
    if role == "owner":
        assert response.status_code in (200, 201), response.content
        assert _resellers_state(resellers_world) != before
    else:
        assert response.status_code == 403, response.content
        assert _resellers_state(resellers_world) == before


@pytest.mark.parametrize("role", ROLES)
def test_reading_resellers_needs_the_view_permission(resellers_world, role):
    client = api_as(role)
    pk = resellers_world.reseller.pk
    for url in ("/api/v1/resellers/", f"/api/v1/resellers/{pk}/", f"/api/v1/resellers/{pk}/tokens/",
                f"/api/v1/resellers/{pk}/statement/"):
        response = client.get(url)
        assert (response.status_code == 200) == (role in {"support", "accountant", "owner"}), (role, url)
        assert resellers_world.token.key_hash not in response.content.decode()


RESELLER_ADMIN_CASES = [
    ("demote resellers", "/admin/resellers/reseller/", "demote", lambda w: w.reseller),
    ("issue reseller keys", "/admin/resellers/reseller/", "issue_token", lambda w: w.reseller),
    ("revoke reseller keys", "/admin/resellers/token/", "revoke", lambda w: w.token),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", RESELLER_ADMIN_CASES, ids=[c[0] for c in RESELLER_ADMIN_CASES])
def test_admin_reseller_actions_by_role(client, resellers_world, role, case):
    _name, url, action, obj = case
    client.force_login(user_in(role))
    before = _resellers_state(resellers_world)
    response = client.post(url, {"action": action, "_selected_action": [obj(resellers_world).pk], "confirm": "yes"})
    if role == "owner":
        assert response.status_code in (200, 302)
        assert _resellers_state(resellers_world) != before, f"{role} was allowed to {action} but nothing happened"
    else:
        assert response.status_code in (200, 302, 403)
        assert _resellers_state(resellers_world) == before


@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_promotes_a_reseller_in_the_admin(client, resellers_world, role):
    from resellers.models import Reseller

    client.force_login(user_in(role))
    client.post("/admin/resellers/reseller/add/", {
        "customer": resellers_world.customer.pk, "discount_bp": "500", "markup_bp": "0", "commission_bp": "0",
        "floor_bp": "0", "credit_limit_amount": "0", "daily_account_limit": "0", "note": "",
        "prices-TOTAL_FORMS": "0", "prices-INITIAL_FORMS": "0"})
    assert Reseller.objects.filter(customer=resellers_world.customer).exists() == (role == "owner")


def test_the_roles_hold_the_resellers_permissions():
    def codenames(group):
        return set(Group.objects.get(name=group).permissions.filter(content_type__app_label="resellers")
                   .values_list("codename", flat=True))

    assert "view_reseller" in codenames("Support") and "view_reseller" in codenames("Accountant")
    assert not {c for c in codenames("Support") | codenames("Accountant") if not c.startswith("view_")}
    assert {"add_reseller", "change_reseller", "manage_reseller"} <= codenames("Owner")


@pytest.mark.parametrize("role", ROLES)
def test_risk_pages_and_banning_in_the_admin_by_role(client, world, role):
    """Support and Accountant see the cases, decisions and bans (to answer the customer); only the
    Owner bans, tunes the rules or trusts a customer."""
    client.force_login(user_in(role))
    readable = role in {"support", "accountant", "owner"}
    for url in ("/admin/antifraud/riskcase/", f"/admin/antifraud/riskcase/{world.held_case.pk}/change/",
                "/admin/antifraud/riskdecision/", "/admin/antifraud/ban/", "/admin/antifraud/riskrule/"):
        assert (client.get(url).status_code == 200) == readable, (role, url)
    bans = Ban.objects.count()
    response = client.post("/admin/antifraud/ban/add/", {"customer": world.suspect.pk, "reason": "fraud"})
    if role == "owner":
        assert response.status_code == 302 and Ban.objects.filter(customer=world.suspect).exists()
    else:
        assert response.status_code == 403 and Ban.objects.count() == bans
    whitelist = client.post("/admin/antifraud/whitelist/add/", {"customer": world.suspect.pk, "why": "known"})
    assert Whitelist.objects.filter(customer=world.suspect).exists() == (role == "owner"), (role, whitelist.status_code)
