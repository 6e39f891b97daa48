"""The VPN Shop Bot project: settings, URLs, the Celery app and the WSGI/ASGI entry points;
the shop core (shop/), the Telegram transport (transport/) and plumbing (core/) live below."""

from .celery import app as celery_app

__all__ = ("celery_app",)
