"""The Mini App's JSON API under /app/api/ (routes in miniapp/api_urls.py): the views by
subject (account, buying, subscriptions) on one base (base.py: initData authentication, the
customer's language, errors as {"detail": "..."})."""

from .account import MeView, ReferralsView, SettingsView, WalletView
from .buying import MethodsView, OrdersView, PaymentView, PayOrderView, PlansView, QuoteView, TopupsView
from .subscriptions import NewLinkView, SubscriptionsView, TrafficPacksView, TrafficView

__all__ = ["MeView", "MethodsView", "NewLinkView", "OrdersView", "PayOrderView", "PaymentView", "PlansView", "QuoteView",
           "ReferralsView", "SettingsView", "SubscriptionsView", "TopupsView", "TrafficPacksView", "TrafficView",
           "WalletView"]
