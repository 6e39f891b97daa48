"""The notifications app: outbox, templates, per-customer settings, scans and broadcasts
(see docs/notifications.md); Django finds its AppConfig in apps.py."""
