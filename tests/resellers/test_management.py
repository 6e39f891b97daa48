"""What operators do with resellers: promote, change the rules, demote and promote again; a
reseller's sub-resellers within the allowed depth, never in a loop; API tokens kept as hashes."""

import hashlib

import pytest
from django.utils import timezone

from resellers import services
from resellers.models import Reseller, ResellerPrice, Token
from tests.factories import CustomerFactory, PlanFactory
from tests.resellers.core_support import balance, buy, make_reseller
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


def credit_limit(reseller) -> int:
    return Customer.objects.values_list("credit_limit_amount", flat=True).get(pk=reseller.customer_id)


def test_promote_with_terms_and_not_twice():
    plan = PlanFactory(price_amount=100_000)
    customer = CustomerFactory()
    reseller = services.reseller_promote(customer_id=customer.pk, by="t", discount_bp=1500, credit_limit_amount=200_000,
                                         prices={plan.pk: 70_000}, plan_ids=[plan.pk], daily_account_limit=10)
    reseller.refresh_from_db()
    assert reseller.is_active and reseller.discount_bp == 1500 and reseller.daily_account_limit == 10
    assert credit_limit(reseller) == 200_000
    assert ResellerPrice.objects.get(reseller=reseller).price_amount == 70_000
    assert list(reseller.plans.all()) == [plan]
    with pytest.raises(services.ResellerError, match="already"):
        services.reseller_promote(customer_id=customer.pk, by="t")
    for bad in ({"discount_bp": 10_001}, {"nonsense": 1}, {"daily_account_limit": -1}):
        with pytest.raises(services.ResellerError):
            services.reseller_promote(customer_id=CustomerFactory().pk, by="t", **bad)
    with pytest.raises(services.ResellerError):
        services.reseller_promote(customer_id=CustomerFactory().pk, by="t", credit_limit_amount=-1)
    with pytest.raises(services.ResellerError):
        services.reseller_promote(customer_id=CustomerFactory().pk, by="t", prices={plan.pk: -5})
    assert Reseller.objects.count() == 1  # the refused ones left nothing behind


def test_the_credit_limit_cannot_go_under_what_is_owed():
    plan = PlanFactory(price_amount=100_000)
    reseller = make_reseller(credit=150_000)
    buy(reseller, plan, 1)
    assert balance(reseller.customer) == -100_000
    with pytest.raises(services.ResellerError, match="owes"):
        services.reseller_update(reseller_id=reseller.pk, by="t", credit_limit_amount=99_999)
    assert credit_limit(reseller) == 150_000
    services.reseller_update(reseller_id=reseller.pk, by="t", credit_limit_amount=100_000)
    assert credit_limit(reseller) == 100_000


def test_parent_loops_and_too_deep_trees_are_refused(settings):
    settings.RESELLER_MAX_DEPTH = 1
    top = make_reseller()
    sub = make_reseller(parent=top)
    with pytest.raises(services.ResellerError, match="deep"):
        make_reseller(parent=sub)  # a sub-reseller's own sub-reseller: depth 2
    with pytest.raises(services.ResellerError):
        services.reseller_update(reseller_id=top.pk, by="t", parent_id=sub.pk)  # under their own sub
    with pytest.raises(services.ResellerError):
        services.reseller_update(reseller_id=top.pk, by="t", parent_id=top.pk)  # their own parent
    other = make_reseller()
    with pytest.raises(services.ResellerError, match="sub-resellers"):
        services.reseller_update(reseller_id=top.pk, by="t", parent_id=other.pk)  # top's sub would be too deep
    settings.RESELLER_MAX_DEPTH = 2
    third = make_reseller(parent=sub)
    assert third.parent_id == sub.pk
    with pytest.raises(services.ResellerError):
        services.reseller_update(reseller_id=top.pk, by="t", parent_id=third.pk)
    with pytest.raises(services.ResellerError):
        services.sub_reseller_invite(parent_id=top.pk, customer_id=top.customer_id, markup_bp=0)
    top.refresh_from_db()
    assert top.parent_id is None


def test_a_demoted_parent_cannot_take_sub_resellers():
    top = make_reseller()
    services.reseller_demote(reseller_id=top.pk, by="t")
    with pytest.raises(services.ResellerError):
        services.sub_reseller_invite(parent_id=top.pk, customer_id=CustomerFactory().pk, markup_bp=0)
    with pytest.raises(services.ResellerError, match="demoted"):
        services.reseller_promote(customer_id=CustomerFactory().pk, by="t", parent_id=top.pk)


def test_demote_revokes_tokens_shrinks_the_credit_to_what_is_owed_and_promote_again_works():
    plan = PlanFactory(price_amount=100_000)
    reseller = make_reseller(credit=300_000, discount_bp=2000)
    buy(reseller, plan, 1)
    token, key = services.token_create(reseller_id=reseller.pk, name="site")
    assert services.token_authenticate(key).pk == token.pk
    services.reseller_demote(reseller_id=reseller.pk, by="t")
    reseller.refresh_from_db()
    assert not reseller.is_active and reseller.demoted_at is not None
    assert Token.objects.get(pk=token.pk).revoked_at is not None
    assert credit_limit(reseller) == 80_000  # what they owe stays owed; no more credit
    assert services.token_authenticate(key) is None
    assert services.reseller_demote(reseller_id=reseller.pk, by="t").demoted_at == reseller.demoted_at
    with pytest.raises(services.ResellerError):
        services.token_create(reseller_id=reseller.pk)
    with pytest.raises(services.ResellerError, match="owes"):  # promoted again: still not under what is owed
        services.reseller_promote(customer_id=reseller.customer_id, by="t", credit_limit_amount=50_000)
    assert not Reseller.objects.get(pk=reseller.pk).is_active
    again = services.reseller_promote(customer_id=reseller.customer_id, by="t", discount_bp=1000,
                                      credit_limit_amount=200_000)
    assert again.pk == reseller.pk and again.is_active and again.demoted_at is None
    assert services.reseller_unit_price(again, plan) == 90_000
    assert services.token_authenticate(key) is None  # the old key stays revoked
    assert buy(again, plan, 1).created
    assert balance(again.customer) == -170_000


def test_a_token_key_is_shown_once_and_only_its_hash_is_kept():
    reseller = make_reseller()
    token, key = services.token_create(reseller_id=reseller.pk, name="  my site  ")
    assert key.startswith(services.TOKEN_PREFIX) and len(key) > 40
    stored = Token.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {stored.key_hash, stored.prefix, stored.name} and stored.prefix == key[:12]
    assert stored.name == "my site"
    found = services.token_authenticate(key)
    assert found.pk == token.pk and found.reseller.customer_id == reseller.customer_id
    assert Token.objects.get(pk=token.pk).last_used_at is not None
    _second, other_key = services.token_create(reseller_id=reseller.pk)
    assert other_key != key


@pytest.mark.parametrize("key", ["", None, "rsk_wrong", "nope", "rsk_" + "x" * 200])
def test_a_wrong_key_authenticates_nobody(key):
    reseller = make_reseller()
    services.token_create(reseller_id=reseller.pk)
    assert services.token_authenticate(key) is None


def test_revoked_and_demoted_keys_authenticate_nobody():
    reseller = make_reseller()
    token, key = services.token_create(reseller_id=reseller.pk)
    kept, kept_key = services.token_create(reseller_id=reseller.pk)
    services.token_revoke(token_id=token.pk, reseller_id=reseller.pk)
    assert services.token_authenticate(key) is None
    assert services.token_authenticate(kept_key).pk == kept.pk
    other = make_reseller()
    with pytest.raises(services.ResellerError):
        services.token_revoke(token_id=kept.pk, reseller_id=other.pk)  # not theirs
    Reseller.objects.filter(pk=reseller.pk).update(is_active=False, demoted_at=timezone.now())
    assert services.token_authenticate(kept_key) is None
