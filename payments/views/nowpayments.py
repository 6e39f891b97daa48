"""/payments/nowpayments/ipn/: NowPayments' IPN (a POST of the payment's JSON, signed in
x-nowpayments-sig). The signature is checked before anything is looked up; then the invoice
and the order id must both be this shop's and agree; then the one door
(`payments.services.payment_confirm`) applies it, once.

Answers: 200 applied (or already applied: NowPayments stops sending it), 400 not JSON or the
invoice and order ids disagree, 403 no or a wrong signature, 404 a signed IPN of an invoice
this shop never made, 413 too big, 503 NOWPAYMENTS_IPN_SECRET not set (NowPayments sends it
again later). Nothing changes unless the answer is 200.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import services
from ..models import Payment
from ..providers import Unverified
from ..providers import nowpayments as np

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


def _answer(status: int, message: str) -> JsonResponse:
    return JsonResponse({"ok": status == 200, "message": message}, status=status)


@csrf_exempt
@require_POST
def ipn(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _answer(413, "too big")
    body = request.body
    if len(body) > MAX_BODY:
        return _answer(413, "too big")
    if not settings.NOWPAYMENTS_IPN_SECRET:
        log.error("nowpayments IPN refused: NOWPAYMENTS_IPN_SECRET is not set")
        return _answer(503, "not configured")
    try:
        data = np.verify_ipn(body, request.headers.get("x-nowpayments-sig", ""), settings.NOWPAYMENTS_IPN_SECRET)
    except np.MalformedIPN as exc:
        log.warning("nowpayments IPN refused: %s", exc)
        return _answer(400, "malformed")
    except Unverified as exc:
        log.warning("nowpayments IPN refused from %s: %s", request.META.get("REMOTE_ADDR", "?"), exc)
        return _answer(403, "bad signature")

    invoice_id = np.id_text(data.get("invoice_id"))
    order_id = data.get("order_id")
    payment = (Payment.objects.filter(provider=Payment.Provider.NOWPAYMENTS, provider_payment_id=invoice_id).first()
               if invoice_id else None)
    if payment is None:
        pk = np.payment_pk_from_order(order_id)
        if pk and Payment.objects.filter(pk=pk, provider=Payment.Provider.NOWPAYMENTS).exists():
            log.warning("nowpayments IPN refused: order %s is not of invoice %s", order_id, invoice_id)
            return _answer(400, "invoice and order do not match")
        log.warning("nowpayments IPN of an unknown invoice %s (order %r): ignored", invoice_id, order_id)
        return _answer(404, "unknown invoice")
    if order_id not in (None, "") and order_id != np.order_id_for(payment):
        log.warning("nowpayments IPN refused: invoice %s is payment %s, not order %r", invoice_id, payment.pk, order_id)
        return _answer(400, "invoice and order do not match")

    confirmation = np.confirmation_of(data)
    applied = services.payment_confirm(payment_id=payment.pk, confirmation=confirmation, via="ipn")
    log.info("nowpayments IPN %s for payment %s: now %s%s", confirmation.detail, payment.pk, applied.payment.status,
             " (credited)" if applied.credited else "")
    return _answer(200, applied.payment.status)
