"""The WSGI entry point: Telegram's webhook POSTs are answered by a fast path before
Django's middleware; every other request goes to Django."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings")
_django = get_wsgi_application()

from vpnbot.transport.wsgi import WebhookFastPath  # noqa: E402  (after Django is set up)

# Telegram's webhook POSTs are answered without Django's middleware; everything else is Django.
application = WebhookFastPath(_django)
