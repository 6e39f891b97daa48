"""/payments/zarinpal/callback/: where Zarinpal sends the customer's browser back, with
``?Authority=…&Status=OK|NOK``.

Nothing in the query is believed: it comes from the customer's browser, and anyone can type
it. The payment is found by its authority (an unknown one is a 404 and Zarinpal is not asked:
the shop is no oracle for guessed authorities), then Zarinpal's server-side verify decides,
through ``services.payment_check`` → ``payment_confirm`` (the row lock: credited once however
many callbacks, polls and admins' checks run at once).

``Status`` does not decide anything either: a NOK is verified too. A forged NOK changes
nothing (verify tells the truth), and a real one lets the verify close the payment at once
(inquiry FAILED) instead of at the reconciliation; when the bank said NOK but the money did
arrive, the verify credits it instead of leaving Zarinpal to send it back unverified.

The answer is a small self-contained page in the customer's language: paid, held, not paid,
or "not confirmed yet" (Zarinpal did not answer: the reconciliation asks again). It is a 200
even then: a proxy in front of the shop may swap a 5xx page for its own, and the customer must
read this one; the failure is logged.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from vpnbot.shop.formatting import money

from .. import services
from ..models import Payment
from ..providers.zarinpal import AUTHORITY
from ..services.core import DECIDED

log = logging.getLogger(__name__)
BOT_USERNAME = re.compile(r"^[A-Za-z0-9_]{4,32}$")
NOT_PAID = (Payment.Status.FAILED, Payment.Status.EXPIRED, Payment.Status.CANCELLED, Payment.Status.REFUSED,
            Payment.Status.REFUNDED)

PAGE = """<!doctype html>
<html lang="{lang}" dir="{direction}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:Tahoma,Vazirmatn,system-ui,sans-serif;background:#f4f5f7;color:#222;margin:0}}
main{{max-width:28rem;margin:12vh auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 2px 12px rgba(0,0,0,.08);text-align:center;line-height:1.8}}
h1{{font-size:1.3rem}} a{{display:inline-block;margin-top:1rem;padding:.6rem 1.2rem;border-radius:8px;
background:#229ED9;color:#fff;text-decoration:none}}</style></head>
<body><main><h1>{title}</h1><p>{text}</p>{link}</main></body>
</html>
"""


@require_GET
def callback(request):
    authority = request.GET.get("Authority", "")
    status = request.GET.get("Status", "")
    if not AUTHORITY.match(authority) or len(status) > 16:
        with translation.override(settings.LANGUAGE_CODE):
            return _page(_("Invalid link"), _("This is not a valid return address of a payment."), status=400)
    payment = (Payment.objects.select_related("customer")
               .filter(provider=Payment.Provider.ZARINPAL, provider_payment_id=authority).first())
    if payment is None:
        log.warning("zarinpal callback for an unknown authority %s (Status %s)", authority, status[:16])
        with translation.override(settings.LANGUAGE_CODE):
            return _page(_("Payment not found"), _("This payment is not known here."), status=404)
    with translation.override(payment.customer.effective_language or settings.LANGUAGE_CODE):
        if payment.status in DECIDED:
            return _result(payment)  # already settled: Zarinpal is not asked again
        try:
            payment = services.payment_check(payment_id=payment.pk, via="callback").payment
        except services.PaymentsError as exc:
            log.warning("zarinpal callback for payment %s (Status %s): not verified now: %s", payment.pk,
                        status[:16], exc)
            return _page(_("Payment not confirmed yet"), _(
                "We could not confirm payment #%(id)s with Zarinpal right now. If you paid, it will be confirmed "
                "shortly and you will get a message in the bot.") % {"id": payment.pk})
        return _result(payment)


def _result(payment: Payment) -> HttpResponse:
    values = {"id": payment.pk, "amount": money(payment.amount)}
    if payment.status == Payment.Status.PAID:
        if payment.order_id:
            text = _("Payment #%(id)s of %(amount)s is confirmed and order #%(order)s is placed. You will get a "
                     "message in the bot.") % {**values, "order": payment.order_id}
        else:
            text = _("Payment #%(id)s of %(amount)s is confirmed and added to your wallet. You will get a message "
                     "in the bot.") % values
        return _page(_("Payment received"), text)
    if payment.status == Payment.Status.HELD:
        return _page(_("Payment received, being checked"), _(
            "Payment #%(id)s arrived but does not match what was asked. An admin will look at it and you will get a "
            "message in the bot.") % values)
    if payment.status in NOT_PAID:
        return _page(_("Payment not completed"), _(
            "Payment #%(id)s of %(amount)s was not paid. If money was taken from your card, the bank returns it. "
            "You can start a new payment in the bot.") % values)
    return _page(_("Payment not confirmed yet"), _(
        "Payment #%(id)s is not confirmed yet. If you paid, it will be confirmed shortly and you will get a message "
        "in the bot.") % values)


def _page(title: str, text: str, *, status: int = 200) -> HttpResponse:
    username = settings.TELEGRAM_BOT_USERNAME
    link = format_html('<a href="https://t.me/{}">{}</a>', username, _("Back to the bot")) \
        if BOT_USERNAME.match(username) else ""
    html = format_html(PAGE, lang=translation.get_language() or settings.LANGUAGE_CODE,
                       direction="rtl" if translation.get_language_bidi() else "ltr", title=title, text=text, link=link)
    response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the address holds the authority
    return response
