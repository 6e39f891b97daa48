"""The resellers in the admin: the list, add (promote through the service) and change pages
render; the services' refusals are form errors and change nothing; prices are edited inline;
demote asks first; a key is shown once; statements download; the read-only lists show no secret."""

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages

from resellers import services
from resellers.models import Account, Reseller, ResellerPrice, Token
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db
LIST = "/admin/resellers/reseller/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("rs-admin", "ra@example.com", "pw"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000)


@pytest.fixture
def reseller(plan):
    customer = CustomerFactory(username="agent7", language="en")
    reseller = services.reseller_promote(customer_id=customer.pk, by="test", discount_bp=2000,
                                         credit_limit_amount=200_000)
    services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=2, labels="Mina", idempotency_key="a1")
    return reseller


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def change_form(reseller, **changes) -> dict:
    data = {"parent": "", "discount_bp": reseller.discount_bp, "markup_bp": 0, "commission_bp": 0, "floor_bp": 0,
            "credit_limit_amount": Customer.objects.get(pk=reseller.customer_id).credit_limit_amount
            if reseller.customer_id else 0,
            "daily_account_limit": 0, "note": "",
            "prices-TOTAL_FORMS": "0", "prices-INITIAL_FORMS": "0", "prices-MIN_NUM_FORMS": "0",
            "prices-MAX_NUM_FORMS": "1000"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_list_renders_with_wallet_credit_and_accounts_and_searches(admin_client, reseller):
    response = admin_client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "agent7" in page and "20%" in page and "-160,000" in page
    assert admin_client.get(LIST, {"q": "agent7"}).context["cl"].result_count == 1
    telegram_id = Customer.objects.get(pk=reseller.customer_id).telegram_id
    assert admin_client.get(LIST, {"q": str(telegram_id)}).context["cl"].result_count == 1
    assert admin_client.get(LIST, {"q": "nobody"}).context["cl"].result_count == 0
    assert admin_client.get(LIST, {"is_active__exact": "0"}).context["cl"].result_count == 0
    row = admin_client.get(LIST).context["cl"].result_list[0]
    assert row.running == 2


def test_the_change_page_renders_and_changes_through_the_service(admin_client, reseller, plan):
    url = f"{LIST}{reseller.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "160,000" in page.content.decode()
    response = admin_client.post(url, change_form(reseller, discount_bp=1500, is_frozen="on", **{
        "prices-TOTAL_FORMS": "1", "prices-0-plan": plan.pk, "prices-0-price_amount": "70000"}))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    reseller.refresh_from_db()
    assert reseller.discount_bp == 1500 and reseller.is_frozen
    assert ResellerPrice.objects.get(reseller=reseller, plan=plan).price_amount == 70_000


def test_a_credit_limit_under_what_is_owed_is_a_form_error_and_changes_nothing(admin_client, reseller):
    url = f"{LIST}{reseller.pk}/change/"
    response = admin_client.post(url, change_form(reseller, discount_bp=100, credit_limit_amount=1000))
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors and "160,000" in errors[0]
    reseller.refresh_from_db()
    assert reseller.discount_bp == 2000
    assert Customer.objects.get(pk=reseller.customer_id).credit_limit_amount == 200_000


def test_the_add_page_promotes_through_the_service(admin_client, plan):
    assert admin_client.get(f"{LIST}add/").status_code == 200
    customer = CustomerFactory()
    response = admin_client.post(f"{LIST}add/", change_form(
        Reseller(discount_bp=1000), customer=customer.pk, credit_limit_amount=50_000, **{
            "prices-TOTAL_FORMS": "1", "prices-0-plan": plan.pk, "prices-0-price_amount": "65000"}))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    reseller = Reseller.objects.get(customer=customer)
    assert reseller.discount_bp == 1000 and reseller.is_active
    assert Customer.objects.get(pk=customer.pk).credit_limit_amount == 50_000
    assert ResellerPrice.objects.get(reseller=reseller).price_amount == 65_000


def test_promoting_a_reseller_again_is_a_form_error(admin_client, reseller):
    response = admin_client.post(f"{LIST}add/", change_form(Reseller(), customer=reseller.customer_id))
    assert response.status_code == 200
    assert "already" in response.context["adminform"].form.non_field_errors()[0]
    assert Reseller.objects.count() == 1


def test_a_demoted_reseller_comes_back_from_the_add_page(admin_client, reseller):
    services.reseller_demote(reseller_id=reseller.pk, by="test")
    response = admin_client.post(f"{LIST}add/", change_form(Reseller(discount_bp=300), customer=reseller.customer_id,
                                                             credit_limit_amount=200_000))
    assert response.status_code == 302
    reseller.refresh_from_db()
    assert reseller.is_active and reseller.discount_bp == 300 and Reseller.objects.count() == 1


def test_demote_asks_first(admin_client, reseller):
    token, _key = services.token_create(reseller_id=reseller.pk)
    asked = admin_client.post(LIST, {"action": "demote", "_selected_action": [reseller.pk]})
    assert asked.status_code == 200 and b'name="confirm"' in asked.content
    reseller.refresh_from_db()
    assert reseller.is_active
    done = admin_client.post(LIST, {"action": "demote", "_selected_action": [reseller.pk], "confirm": "yes"},
                             follow=True)
    reseller.refresh_from_db()
    token.refresh_from_db()
    assert not reseller.is_active and token.revoked_at is not None
    assert any("no longer a reseller" in t for t in texts(done))


def test_issue_a_key_shows_it_once(admin_client, reseller):
    response = admin_client.post(LIST, {"action": "issue_token", "_selected_action": [reseller.pk]}, follow=True)
    token = Token.objects.get(reseller=reseller)
    shown = [t for t in texts(response) if token.prefix in t]
    assert len(shown) == 1
    key = shown[0].split(": ", 1)[1].split(" ")[0]
    assert services.token_authenticate(key) == token
    page = admin_client.get("/admin/resellers/token/").content.decode()
    assert token.prefix in page and key not in page and token.key_hash not in page
    detail = admin_client.get(f"/admin/resellers/token/{token.pk}/change/").content.decode()
    assert token.key_hash not in detail and key not in detail


def test_revoke_keys_from_their_list(admin_client, reseller):
    token, key = services.token_create(reseller_id=reseller.pk)
    admin_client.post("/admin/resellers/token/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None and services.token_authenticate(key) is None


def test_statements_download(admin_client, reseller):
    for action in ("statement_this_month", "statement_last_month"):
        response = admin_client.post(LIST, {"action": action, "_selected_action": [reseller.pk]})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), action
        assert response.content.decode("utf-8-sig").startswith("date,reason,source")
    other = services.reseller_promote(customer_id=CustomerFactory().pk, by="test")
    several = admin_client.post(LIST, {"action": "statement_this_month", "_selected_action": [reseller.pk, other.pk]},
                                follow=True)
    assert any("one reseller" in t for t in texts(several))


def test_the_read_only_lists_render(admin_client, reseller):
    account = Account.objects.filter(reseller=reseller).first()
    for url in ("/admin/resellers/account/", "/admin/resellers/batch/", "/admin/resellers/commission/",
                "/admin/resellers/token/", f"/admin/resellers/account/{account.pk}/change/"):
        assert admin_client.get(url).status_code == 200, url
    found = admin_client.get("/admin/resellers/account/", {"q": "Mina 2"})
    assert found.context["cl"].result_count == 1
    assert admin_client.get("/admin/resellers/account/add/").status_code == 403


def test_a_staff_member_without_manage_cannot_demote(client, reseller):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("rs-viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_reseller", "change_reseller"]))
    client.force_login(user)
    page = client.get(LIST)
    assert page.status_code == 200 and b'value="demote"' not in page.content
    client.post(LIST, {"action": "demote", "_selected_action": [reseller.pk], "confirm": "yes"})
    reseller.refresh_from_db()
    assert reseller.is_active
