"""The discounts app's configuration: in ready() it plugs the quote engine, the redeemer and
the event receivers into the shop's seams, and keeps the quote cache fresh on changes."""

from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


class DiscountsConfig(AppConfig):
    name = "discounts"
    verbose_name = _("Smart discounts")

    def ready(self):
        # imported here, not at the top: they load models, which needs the app registry ready
        from vpnbot.shop import events, pricing

        from . import conditions, services  # noqa: F401 - conditions registers the built-in predicates
        from .models import CashbackRule, SmartDiscount

        pricing.register_price_adjuster(services.discount_quote)
        pricing.register_redeemer(services.discount_redeem)
        events.subscribe("order_paid", services.on_order_paid)
        events.subscribe("order_refunded", services.on_order_refunded)
        # The quote cache (services.candidates.cached) also checks the database on every quote; these
        # only make a change in this process visible at once.
        for model in (SmartDiscount, CashbackRule):
            post_save.connect(services.cache_clear, sender=model, dispatch_uid=f"discounts-cache-save-{model.__name__}")
            post_delete.connect(services.cache_clear, sender=model, dispatch_uid=f"discounts-cache-delete-{model.__name__}")
        m2m_changed.connect(services.rule_touch, sender=CashbackRule.plans.through, dispatch_uid="discounts-rule-plans")
