"""The ASGI entry point (the product is served by gunicorn over WSGI; this exists for
tools that want ASGI)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings")
application = get_asgi_application()
