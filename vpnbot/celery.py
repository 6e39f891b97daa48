"""The Celery app: configured from Django's settings (CELERY_*), tasks found in every app's
tasks.py; creates the file-system broker's folders when that broker is used."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings")

app = Celery("vpnbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _ensure_broker_dirs(sender, **kwargs):
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
