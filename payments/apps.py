"""The payments app: registers its providers as the shop's payment methods, the Stars
pre-checkout fast path with the transport, and subscribes to the shop's events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Online payments")

    def ready(self):
        # Django's rule: modules that use the models are imported once the registry is ready
        from vpnbot.shop import events, paymethods
        from vpnbot.transport import views

        from . import checks, providers, receivers  # noqa: F401  (checks register themselves)
        from .methods import OnlineMethod
        from .providers.nowpayments import NowPayments
        from .providers.stars import Stars
        from .providers.zarinpal import Zarinpal
        from .services.stars import stars_answer_pre_checkout

        for provider in (Stars(), Zarinpal(), NowPayments()):
            providers.register(provider)
            paymethods.register_method(OnlineMethod(provider.key))
        views.register_fast_path("pre_checkout_query", stars_answer_pre_checkout)
        for name in ("topup_submitted", "payment_approved", "payment_rejected"):
            events.subscribe(name, receivers.on_receipt_event)
        events.subscribe("order_refunded", receivers.on_order_refunded)
        events.subscribe("customer_banned", receivers.on_customer_banned)
        events.subscribe("customer_unbanned", receivers.on_customer_unbanned)
