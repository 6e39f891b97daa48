"""manage.py scheduled_messages_run."""
