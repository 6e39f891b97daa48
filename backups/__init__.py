"""Database backups: dump, compress, checksum, store, retain, verify and restore, run by the
bot, the admin, the API, Celery beat and management commands."""
