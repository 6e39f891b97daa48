"""The providers as the shop's payment methods (vpnbot.shop.paymethods): what the top-up and
checkout flows list as buttons, and what happens when the customer picks one."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.shop.paymethods import MethodUnavailable, PaymentMethod, Purchase, Started

from . import providers, services


class OnlineMethod(PaymentMethod):
    def __init__(self, key: str):
        self.key = key

    @property
    def provider(self):
        return providers.get(self.key)

    def label(self) -> str:
        return self.provider.label()

    def available(self) -> bool:
        return self.provider.enabled()

    def start(self, *, customer, amount: int, purchase: Purchase | None = None, link: bool = False) -> Started:
        try:
            payment = services.payment_start(provider_key=self.key, customer=customer, amount=amount, purchase=purchase,
                                             link=link)
        except services.PaymentsError as exc:
            raise MethodUnavailable(str(exc)) from None
        asked = providers.Asked(payment.provider_amount, payment.currency).text()
        if payment.pay_url:
            text = _("Payment #%(id)s: %(asked)s (%(amount)s) with %(method)s.\nOpen the payment page below; you will "
                     "get a message here as soon as the money arrives.") % {
                "id": payment.pk, "asked": asked, "amount": money(payment.amount), "method": self.label()}
        else:  # the method sent its own message (a Telegram invoice)
            text = _("Payment #%(id)s: pay %(asked)s (%(amount)s) with the invoice above.") % {
                "id": payment.pk, "asked": asked, "amount": money(payment.amount)}
        return Started(text=text, url=payment.pay_url, url_label=_("💳 Pay %(asked)s") % {"asked": asked},
                       payment_id=payment.pk, cancel_data=f"pym:x:{payment.pk}",
                       invoice_link=bool(link and payment.pay_url and self.provider.link_is_invoice))
