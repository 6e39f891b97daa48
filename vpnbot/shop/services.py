"""The shop's business operations. Handlers, admin actions, API views and tasks call these."""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q, RestrictedError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vpnbot.core.numbers import latin_digits
from vpnbot.transport import messages

from . import events, messaging, pricing
from .models import CheckoutCode, Customer, Order, Payment, Plan, ReferralReward, Subscription, WalletTransaction
from .provisioning import get_provisioner

log = logging.getLogger(__name__)
QUANTITIES = (1, 3, 6, 12)


class ShopError(Exception):
    """A refusal with a message meant for the person who asked."""


class InsufficientBalance(ShopError):
    def __init__(self, missing: int):
        super().__init__(_("Your wallet is short by %(amount)s.") % {"amount": money(missing)})
        self.missing = missing


class QuoteChanged(ShopError):
    def __init__(self, quote):
        super().__init__(_("The price changed since you saw it. Please check the new price."))
        self.quote = quote


def money(amount: int) -> str:
    currency = _("Toman") if settings.CURRENCY == "Toman" else settings.CURRENCY
    return f"{amount:,} {currency}"


# --- customers -------------------------------------------------------------------------

def _new_referral_code() -> str:
    return secrets.token_hex(4)


def customer_sync(*, telegram_id: int, username: str = "", first_name: str = "", last_name: str = "",
                  language_code: str = "") -> tuple[Customer, bool]:
    """The customer for a Telegram user, created on first contact; names kept current."""
    fields = {"username": (username or "")[:64], "first_name": (first_name or "")[:128],
              "last_name": (last_name or "")[:128], "telegram_language": (language_code or "")[:16]}
    customer = Customer.objects.filter(telegram_id=telegram_id).first()
    created = False
    for _attempt in range(5):
        if customer is not None:
            break
        try:
            with transaction.atomic():
                customer = Customer.objects.create(telegram_id=telegram_id, referral_code=_new_referral_code(),
                                                   last_seen_at=timezone.now(), **fields)
                events.emit("registered", customer=customer)
                created = True
        except IntegrityError:
            # Another worker made this customer first, or (rarely, with many customers) the
            # random referral code was taken: then try again with a new one.
            customer = Customer.objects.filter(telegram_id=telegram_id).first()
    if customer is None:
        raise RuntimeError(f"could not create the customer for Telegram user {telegram_id}")
    changed = {k: v for k, v in fields.items() if getattr(customer, k) != v}
    now = timezone.now()
    if customer.blocked_at:
        changed["blocked_at"] = None
    if changed or not customer.last_seen_at or now - customer.last_seen_at > timedelta(minutes=5):
        changed["last_seen_at"] = now
        Customer.objects.filter(pk=customer.pk).update(**changed)
        for key, value in changed.items():
            setattr(customer, key, value)
    return customer, created


def customer_apply_referral(*, customer: Customer, code: str) -> bool:
    """Link a new customer to whoever invited them; refused quietly for oneself, for a
    second referrer, and for a customer who has already bought."""
    referrer = Customer.objects.filter(referral_code=code).exclude(pk=customer.pk).first()
    if referrer is None or customer.referred_by_id or referrer.referred_by_id == customer.pk:
        return False
    if Order.objects.filter(customer=customer, status__in=[Order.Status.PAID, Order.Status.REFUNDED]).exists():
        return False
    updated = Customer.objects.filter(pk=customer.pk, referred_by__isnull=True).update(referred_by=referrer)
    if updated:
        customer.referred_by = referrer
    return bool(updated)


def customer_set_language(*, customer: Customer, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ShopError(_("Unknown language."))
    Customer.objects.filter(pk=customer.pk).update(language=language)
    customer.language = language


def customer_is_operator(telegram_id: int) -> bool:
    return Customer.objects.filter(telegram_id=telegram_id, is_operator=True).exists()


def operator_chat_ids() -> list[int]:
    return list(Customer.objects.filter(is_operator=True, blocked_at__isnull=True).values_list("telegram_id", flat=True))


def customer_find(query: str) -> Customer | None:
    """By Telegram id or @username."""
    query = (query or "").strip()
    number = query.removeprefix("-")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return Customer.objects.filter(telegram_id=int(query)).first()
    if query.startswith("@") and len(query) > 1:
        return Customer.objects.filter(username__iexact=query[1:]).first()
    return None


def on_chat_blocked(sender=None, *, chat_id, description="", **kwargs) -> None:
    """The transport met a 403 for this chat: remember the customer blocked the bot."""
    if not isinstance(chat_id, int) or chat_id <= 0:
        return
    with transaction.atomic():
        updated = Customer.objects.filter(telegram_id=chat_id, blocked_at__isnull=True).update(blocked_at=timezone.now())
        if updated:
            customer = Customer.objects.get(telegram_id=chat_id)
            events.emit("bot_blocked", customer=customer, description=description[:200])


# --- wallet --------------------------------------------------------------------------------

def wallet_apply(*, customer_id: int, amount: int, reason: str, source: str, note: str = "") -> WalletTransaction | None:
    """Add a ledger row and move the balance, once per source. Returns None when this
    source was already applied. Raises InsufficientBalance rather than going below zero."""
    if amount == 0:
        return None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if WalletTransaction.objects.filter(source=source).exists():
            return None
        balance = customer.balance_amount + amount
        if balance < 0:
            raise InsufficientBalance(-balance)
        Customer.objects.filter(pk=customer_id).update(balance_amount=balance)
        return WalletTransaction.objects.create(customer_id=customer_id, amount=amount, balance_after=balance,
                                                reason=reason, source=source, note=note[:255])


def wallet_history(*, customer: Customer, limit: int = 10) -> list[WalletTransaction]:
    return list(WalletTransaction.objects.filter(customer=customer).order_by("-id")[:limit])


# --- top-up by receipt ---------------------------------------------------------------------

def topup_parse_amount(text: str) -> int:
    """A whole number within the shop's limits (Persian or Latin digits, commas allowed)."""
    digits = latin_digits(text).strip().replace(",", "").replace(" ", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 15:  # "²".isdigit(), yet int("²") fails
        raise ShopError(_("Please send the amount as a whole number, for example %(example)s.")
                        % {"example": f"{settings.TOPUP_MIN_AMOUNT * 5:,}"})
    amount = int(digits)
    if not settings.TOPUP_MIN_AMOUNT <= amount <= settings.TOPUP_MAX_AMOUNT:
        raise ShopError(_("The amount must be between %(min)s and %(max)s.")
                        % {"min": money(settings.TOPUP_MIN_AMOUNT), "max": money(settings.TOPUP_MAX_AMOUNT)})
    return amount


def payment_submit(*, customer: Customer, amount: int, receipt_file_id: str) -> Payment:
    if not settings.TOPUP_MIN_AMOUNT <= amount <= settings.TOPUP_MAX_AMOUNT or not receipt_file_id:
        raise ShopError(_("This top-up is not valid."))
    with transaction.atomic():
        payment = Payment.objects.create(customer=customer, amount=amount, receipt_file_id=receipt_file_id[:255])
        events.emit("topup_submitted", customer=customer, payment_id=payment.pk, amount=amount)
        transaction.on_commit(partial(_enqueue_payment_review, payment.pk))
    return payment


def _enqueue_payment_review(payment_id: int) -> None:
    """One task per admin, so an admin who blocked the bot or is rate-limited does not hold
    up the others; each task retries on its own (tasks.send_payment_review)."""
    from vpnbot.transport.permissions import admin_chat_ids

    from . import tasks

    for chat_id in admin_chat_ids():
        try:
            tasks.send_payment_review.delay(payment_id, chat_id)
        except Exception:  # a broker failure must not fail the customer's update; the payment is in the admin list
            log.exception("review of payment %s for admin %s not queued", payment_id, chat_id)


def _payment_review_text(payment: Payment) -> str:
    customer = payment.customer
    return _("🧾 Top-up #%(id)s\nCustomer: %(customer)s (id %(tid)s)\nAmount: %(amount)s") % {
        "id": payment.pk, "customer": html.escape(str(customer), quote=False), "tid": customer.telegram_id,
        "amount": money(payment.amount)}


def payment_review_send(*, payment_id: int, chat_id: int) -> bool:
    """Send one admin the receipt of a pending top-up with the review buttons, at most once:
    the admins already sent a copy are in Payment.admin_messages ([chat_id, message_id]),
    recorded as soon as Telegram accepts the message, so a retry skips them. Returns whether
    a message was sent; raises the sender's TelegramError (the task decides on retrying).
    A decided payment is not sent any more (nothing left to review)."""
    chat_id = int(chat_id)
    payment = Payment.objects.select_related("customer").filter(pk=payment_id).first()
    if payment is None or payment.status != Payment.Status.PENDING:
        return False
    if any(int(pair[0]) == chat_id for pair in payment.admin_messages or []):
        return False
    with translation.override(messaging.admin_language(chat_id)):
        caption = _payment_review_text(payment)
        buttons = [[(_("✅ Approve"), f"pay:ok:{payment.pk}"), (_("❌ Reject"), f"pay:no:{payment.pk}")]]
    message_id = messages.send_now(chat_id, caption, photo=payment.receipt_file_id, buttons=buttons)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        pairs = list(payment.admin_messages or [])
        if not any(int(pair[0]) == chat_id for pair in pairs):
            pairs.append([chat_id, message_id])
            Payment.objects.filter(pk=payment_id).update(admin_messages=pairs)
        if payment.status != Payment.Status.PENDING and message_id is not None:
            # decided while this copy was on its way: the decision's edit did not know of it
            transaction.on_commit(partial(_clear_review_buttons, chat_id, message_id))
    return True


def _clear_review_buttons(chat_id: int, message_id: int) -> None:
    try:
        messages.edit_message(chat_id, message_id, clear_buttons=True)
    except messages.TelegramError as exc:
        log.info("review buttons not cleared: %s", exc.description)


@dataclass
class Decision:
    payment: Payment
    changed: bool  # False when somebody else decided first


def payment_approve(*, payment_id: int, reviewer: str) -> Decision:
    """Approve a pending top-up and credit the wallet, exactly once."""
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
            status=Payment.Status.APPROVED, reviewer=reviewer[:100], reviewed_at=timezone.now())
        payment = Payment.objects.select_related("customer").get(pk=payment_id)
        if not updated:
            return Decision(payment, False)
        wallet_apply(customer_id=payment.customer_id, amount=payment.amount, reason=WalletTransaction.Reason.TOPUP,
                     source=f"payment:{payment.pk}", note=f"top-up #{payment.pk}")
        events.emit("payment_approved", customer=payment.customer, payment_id=payment.pk, amount=payment.amount)
        customer = Customer.objects.get(pk=payment.customer_id)
        messaging.notify_customer(
            customer, kind="payment_approved", dedup_key=f"payment:{payment.pk}",
            context={"amount": payment.amount, "balance": customer.balance_amount, "payment_id": payment.pk},
            text=lambda: _("✅ Your top-up of %(amount)s was approved. Wallet balance: %(balance)s.") % {
                "amount": money(payment.amount), "balance": money(customer.balance_amount)},
        )
        _mark_review_messages(payment, lambda: _("✅ Approved by %(who)s") % {"who": reviewer})
    return Decision(payment, True)


def payment_reject(*, payment_id: int, reviewer: str, reason: str) -> Decision:
    reason = (reason or "").strip()
    if not reason:
        raise ShopError(_("Please give a reason for the rejection."))
    if len(reason) > 500:
        raise ShopError(_("The reason is too long (500 characters at most)."))
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
            status=Payment.Status.REJECTED, reviewer=reviewer[:100], reason=reason, reviewed_at=timezone.now())
        payment = Payment.objects.select_related("customer").get(pk=payment_id)
        if not updated:
            return Decision(payment, False)
        events.emit("payment_rejected", customer=payment.customer, payment_id=payment.pk, reason=reason)
        messaging.notify_customer(
            payment.customer, kind="payment_rejected", dedup_key=f"payment:{payment.pk}",
            context={"amount": payment.amount, "reason": reason, "payment_id": payment.pk},
            text=lambda: _("❌ Your top-up of %(amount)s was rejected.\nReason: %(reason)s") % {
                "amount": money(payment.amount), "reason": reason},
        )
        _mark_review_messages(payment, lambda: _("❌ Rejected by %(who)s: %(reason)s") % {"who": reviewer, "reason": reason})
    return Decision(payment, True)


def _mark_review_messages(payment: Payment, verdict) -> None:
    """Edit every admin's copy of the receipt so nobody reviews it again."""
    pairs = list(payment.admin_messages or [])

    def edit():
        for chat_id, message_id in pairs:
            if message_id is None:
                continue
            with translation.override(messaging.admin_language(chat_id)):
                caption = _("Top-up #%(id)s: %(amount)s\n%(verdict)s") % {
                    "id": payment.pk, "amount": money(payment.amount), "verdict": verdict()}
            try:  # plain text: the reviewer's name and reason are not HTML
                messages.edit_message(chat_id, message_id, caption=caption, clear_buttons=True, parse_mode="")
            except messages.TelegramError as exc:
                log.info("review message not edited: %s", exc.description)

    transaction.on_commit(edit)


# --- plans, pricing, orders -----------------------------------------------------------------

def plan_list_active() -> list[Plan]:
    return list(Plan.objects.filter(is_active=True))


def plan_get_active(plan_id) -> Plan:
    try:
        plan_id = int(plan_id)
    except (TypeError, ValueError):
        raise ShopError(_("This plan is not available.")) from None
    plan = Plan.objects.filter(pk=plan_id, is_active=True).first()
    if plan is None:
        raise ShopError(_("This plan is not available any more. See /plans."))
    return plan


def plan_delete(*, plan_id: int) -> None:
    """Delete a plan nobody has bought. One with orders or subscriptions stays (their records
    need it): the ShopError says to deactivate it, also when an order arrives meanwhile."""
    in_use = _("This plan has orders; deactivate it (is_active) instead of deleting it.")
    try:
        with transaction.atomic():
            plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
            if plan is None:
                return
            if plan.orders.exists() or plan.subscriptions.exists():
                raise ShopError(in_use)
            plan.delete()
    except (ProtectedError, RestrictedError, IntegrityError):  # an order came between the check and the delete
        raise ShopError(in_use) from None


def validate_quantity(quantity) -> int:
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise ShopError(_("Choose 1, 3, 6 or 12 periods.")) from None
    if quantity not in QUANTITIES:
        raise ShopError(_("Choose 1, 3, 6 or 12 periods."))
    return quantity


def price_quote(customer: Customer, plan: Plan, quantity: int, at: datetime | None = None, *, code: str = ""):
    return pricing.price_quote(customer, plan, validate_quantity(quantity), at, code=code)


CHECKOUT_CODE_TTL = timedelta(days=1)


def checkout_code_keep(*, customer_id: int, key: str, code: str) -> None:
    """Remember the discount code of a confirmation (its Pay button has no room for it);
    the customer's codes older than a day are forgotten on the way."""
    now = timezone.now()
    CheckoutCode.objects.filter(customer_id=customer_id, created_at__lt=now - CHECKOUT_CODE_TTL).delete()
    CheckoutCode.objects.update_or_create(customer_id=customer_id, key=key, defaults={"code": code[:32], "created_at": now})


def checkout_code_get(*, customer_id: int, key: str) -> str:
    """The code kept for this confirmation; ShopError when it is unknown or too old."""
    row = CheckoutCode.objects.filter(customer_id=customer_id, key=key,
                                      created_at__gte=timezone.now() - CHECKOUT_CODE_TTL).first()
    if row is None:
        raise ShopError(_("This confirmation has expired. Start again with /buy."))
    return row.code


@dataclass
class Checkout:
    order: Order
    created: bool  # False: this confirmation was already used


def order_checkout(*, customer_id: int, plan_id: int, quantity: int, idempotency_key: str,
                   code: str = "", expected_total: int | None = None, at: datetime | None = None) -> Checkout:
    """Pay for a plan from the wallet and create or extend the subscription, all in one
    transaction. The same idempotency key buys once."""
    quantity = validate_quantity(quantity)
    if not idempotency_key or len(idempotency_key) > 80:
        raise ShopError(_("This confirmation is not valid. Start again with /buy."))
    existing = Order.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return Checkout(existing, False)
    plan = plan_get_active(plan_id)
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=customer_id)
            existing = Order.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return Checkout(existing, False)
            quote = pricing.price_quote(customer, plan, quantity, at, code=code)
            if expected_total is not None and quote.total_amount != expected_total:
                raise QuoteChanged(quote)
            total = quote.total_amount
            if customer.balance_amount < total:
                raise InsufficientBalance(total - customer.balance_amount)
            now = timezone.now()
            order = Order.objects.create(
                customer=customer, plan=plan, quantity=quantity, list_amount=quote.list_amount,
                discount_amount=quote.list_amount - total, paid_amount=total, status=Order.Status.PAID,
                idempotency_key=idempotency_key, quote=quote.as_dict(), created_at=now, paid_at=now)
            pricing.redeem(order, quote)
            wallet_apply(customer_id=customer.pk, amount=-total, reason=WalletTransaction.Reason.PURCHASE,
                         source=f"order:{order.pk}", note=f"{plan.name} × {quantity}")
            subscription = _subscription_for_order(order, now)
            events.emit("order_paid", customer=customer, order_id=order.pk, plan_id=plan.pk, amount=total,
                        list_amount=quote.list_amount, quantity=quantity, subscription_id=subscription.pk,
                        renewal=bool(subscription.renewed_from_id), cashback_amount=quote.cashback_amount)
            _referral_reward(customer, order)
    except IntegrityError:
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return Checkout(existing, False)
        if not Plan.objects.filter(pk=plan.pk).exists():  # deleted while this order was being made
            raise ShopError(_("This plan is not available any more. See /plans.")) from None
        raise
    transaction.on_commit(partial(subscription_provision, subscription_id=subscription.pk))
    return Checkout(order, True)


def _subscription_for_order(order: Order, now: datetime) -> Subscription:
    previous = (Subscription.objects.filter(customer=order.customer, plan=order.plan, status=Subscription.Status.ACTIVE,
                                            expires_at__gt=now).order_by("-expires_at").first())
    starts = max(now, previous.expires_at) if previous else now
    subscription = Subscription.objects.create(
        customer=order.customer, plan=order.plan, order=order, starts_at=starts,
        expires_at=starts + timedelta(days=order.plan.duration_days * order.quantity), renewed_from=previous,
        config=previous.config if previous else "", config_delivered_at=now if previous and previous.config else None)
    if previous:
        events.emit("subscription_extended", customer=order.customer, subscription_id=subscription.pk,
                    previous_id=previous.pk, expires_at=subscription.expires_at.isoformat())
    return subscription


def _referral_reward(customer: Customer, order: Order) -> None:
    if not customer.referred_by_id or order.paid_amount <= 0:
        return
    if Order.objects.filter(customer=customer, status__in=[Order.Status.PAID, Order.Status.REFUNDED]).exclude(pk=order.pk).exists():
        return
    amount = order.paid_amount * settings.REFERRAL_REWARD_PERCENT // 100
    if amount <= 0 or ReferralReward.objects.filter(referred=customer).exists():
        return
    reward = ReferralReward.objects.create(referrer_id=customer.referred_by_id, referred=customer, order=order, amount=amount)
    wallet_apply(customer_id=customer.referred_by_id, amount=amount, reason=WalletTransaction.Reason.REFERRAL,
                 source=f"referral:{customer.pk}", note=f"invited {customer}")
    referrer = Customer.objects.get(pk=customer.referred_by_id)
    events.emit("referral_rewarded", customer=referrer, referred_id=customer.pk, amount=amount, reward_id=reward.pk)
    messaging.notify_customer(
        referrer, kind="referral_reward", dedup_key=f"referral:{customer.pk}", context={"amount": amount},
        text=lambda: _("🎁 A friend you invited made their first purchase: %(amount)s was added to your wallet.")
        % {"amount": money(amount)})


# --- subscriptions and provisioning -------------------------------------------------------------

def subscription_provision(*, subscription_id: int) -> None:
    """Ask the provisioner for the config; deliver it, or ask the operators to."""
    subscription = Subscription.objects.select_related("customer", "plan", "renewed_from").get(pk=subscription_id)
    provisioner = get_provisioner()
    config = provisioner.extend(subscription) if subscription.renewed_from_id else provisioner.provision(subscription)
    if config:
        try:
            subscription_deliver_config(subscription_id=subscription.pk, config=config,
                                        renewal=bool(subscription.renewed_from_id))
            return
        except ShopError as exc:  # e.g. too long for a message: an operator pastes one that fits
            log.warning("config of subscription %s not delivered: %s", subscription.pk, exc)
    messages.notify_admins(dedup_key=f"needs-config:{subscription.pk}", text=lambda: _(
        "🛠 Order #%(order)s needs a VPN config: %(plan)s for %(customer)s. Paste it in the admin "
        "(Subscriptions → #%(id)s).") % {"order": subscription.order_id, "plan": subscription.plan,
                                          "customer": subscription.customer, "id": subscription.pk})


# A config travels inside <code> in one Telegram message (4096 characters, with the words around
# it); measured as sent, HTML-escaped, so the sender never has to split it (a split inside <code>
# would be refused by Telegram).
MAX_CONFIG_LENGTH = 3500


def config_html(config: str) -> str:
    """The config as it goes inside <code>...</code> (only & < > need escaping there)."""
    return html.escape(config, quote=False)


def subscription_validate_config(config: str) -> str:
    """The config stripped, or a ShopError when it is empty or cannot travel in one message."""
    config = (config or "").strip()
    if not config:
        raise ShopError(_("The config is empty."))
    length = len(config_html(config))
    if length > MAX_CONFIG_LENGTH:
        raise ShopError(_("The config is too long for a Telegram message: %(length)s characters as sent, %(max)s at "
                          "most (each &, < or > counts as 4 or 5). Deliver a subscription link instead.")
                        % {"length": f"{length:,}", "max": f"{MAX_CONFIG_LENGTH:,}"})
    return config


def subscription_deliver_config(*, subscription_id: int, config: str, renewal: bool = False) -> Subscription:
    config = subscription_validate_config(config)
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("customer", "plan").get(pk=subscription_id)
        first_delivery = subscription.config != config or not subscription.config_delivered_at
        Subscription.objects.filter(pk=subscription.pk).update(config=config, config_delivered_at=timezone.now())
        subscription.config = config
        if first_delivery or renewal:
            events.emit("config_delivered", customer=subscription.customer, subscription_id=subscription.pk)
            expires = subscription.expires_at
            messaging.notify_customer(
                subscription.customer, kind="config_delivered",
                dedup_key=f"config:{subscription.pk}:{hashlib.sha256(config.encode()).hexdigest()[:16]}",
                context={"plan": subscription.plan.name, "expires_at": expires.isoformat()},
                text=lambda: (_("🔑 Your %(plan)s service is ready until %(date)s.\nYour config:\n<code>%(config)s</code>")
                              % {"plan": subscription.plan.name, "date": format_date(expires, subscription.customer),
                                 "config": config_html(config)}))
    return subscription


def subscriptions_for(customer: Customer) -> list[Subscription]:
    now = timezone.now()
    return list(Subscription.objects.filter(customer=customer, status=Subscription.Status.ACTIVE, expires_at__gt=now)
                .select_related("plan").order_by("starts_at"))


def subscription_expire_due(*, now: datetime | None = None) -> int:
    """Mark subscriptions whose time is over as expired (each once)."""
    now = now or timezone.now()
    count = 0
    ids = list(Subscription.objects.filter(status=Subscription.Status.ACTIVE, expires_at__lte=now).values_list("pk", flat=True)[:5000])
    for pk in ids:
        with transaction.atomic():
            if Subscription.objects.filter(pk=pk, status=Subscription.Status.ACTIVE).update(status=Subscription.Status.EXPIRED):
                sub = Subscription.objects.select_related("customer").get(pk=pk)
                events.emit("subscription_expired", customer=sub.customer, subscription_id=pk, plan_id=sub.plan_id)
                count += 1
    return count


# --- refunds ---------------------------------------------------------------------------------------

def order_refund_amount(order: Order, *, mode: str, at: datetime | None = None) -> int:
    at = at or timezone.now()
    remaining = order.paid_amount - order.refunded_amount
    if mode == "full":
        return remaining
    if mode != "prorata":
        raise ShopError(_("Refund mode must be full or prorata."))
    sub = getattr(order, "subscription", None)
    if sub is None:
        return remaining
    total = (sub.expires_at - sub.starts_at).total_seconds()
    unused = (sub.expires_at - max(at, sub.starts_at)).total_seconds()
    if total <= 0 or unused <= 0:
        return 0
    return min(remaining, int(order.paid_amount * unused // total))


def order_refund(*, order_id: int, mode: str = "full", reason: str, by: str, at: datetime | None = None) -> Order:
    """Refund a paid order to the wallet (in full or for the unused days), cut the
    subscription short, and announce order_refunded so discounts and cashback unwind.
    A refund of nothing (the time is used up, or nothing was paid) is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise ShopError(_("Please give a reason for the refund."))
    at = at or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("customer", "plan").get(pk=order_id)
        if order.status != Order.Status.PAID:
            raise ShopError(_("Only a paid order can be refunded (this one is %(status)s).") % {"status": order.get_status_display()})
        amount = order_refund_amount(order, mode=mode, at=at)
        if amount > order.paid_amount - order.refunded_amount:
            raise ShopError(_("A refund cannot exceed what was paid."))
        if amount <= 0:  # order_refunded would make discounts and cashback unwind for nothing given back
            if order.paid_amount - order.refunded_amount <= 0:
                raise ShopError(_("Nothing to refund: nothing was paid for this order."))
            raise ShopError(_("Nothing to refund: the service time of this order is used up "
                              "(a full refund would still pay it back)."))
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED, refunded_amount=F("refunded_amount") + amount,
                                                 refunded_at=at, refund_reason=reason[:255])
        wallet_apply(customer_id=order.customer_id, amount=amount, reason=WalletTransaction.Reason.REFUND,
                     source=f"refund:{order.pk}", note=reason[:200])
        Subscription.objects.filter(order=order, status=Subscription.Status.ACTIVE).update(
            status=Subscription.Status.CANCELLED, expires_at=at)
        events.emit("order_refunded", customer=order.customer, order_id=order.pk, amount=amount, reason=reason, by=by)
        messaging.notify_customer(
            order.customer, kind="order_refunded", dedup_key=f"refund:{order.pk}",
            context={"amount": amount, "order_id": order.pk, "reason": reason},
            text=lambda: _("↩️ Order #%(id)s was refunded: %(amount)s went back to your wallet.\nReason: %(reason)s")
            % {"id": order.pk, "amount": money(amount), "reason": reason})
        order.refresh_from_db()
    return order


# --- formatting helpers ------------------------------------------------------------------------------

def format_date(value: datetime, customer: Customer | None = None) -> str:
    """A date as the customer reads it: Jalali in Persian, Gregorian in English."""
    import zoneinfo

    import jdatetime

    tz = zoneinfo.ZoneInfo(customer.tz_name if customer else settings.TIME_ZONE)
    local = value.astimezone(tz)
    language = customer.effective_language if customer else settings.LANGUAGE_CODE
    if language == "fa":
        return jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def days_left(subscription: Subscription, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return max(0, (subscription.expires_at - now).days)


def active_customers_q() -> Q:
    return Q(blocked_at__isnull=True)
