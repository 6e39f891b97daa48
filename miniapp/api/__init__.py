"""The Mini App's JSON API under /app/api/ (routes in miniapp/api_urls.py): the views by
subject (account, buying, subscriptions) on one base (base.py: initData authentication, the
customer's language, errors as {"detail": "..."})."""

from .account import MeView, ReferralsView, SettingsView, WalletView

__all__ = ["MeView", "ReferralsView", "SettingsView", "WalletView"]
