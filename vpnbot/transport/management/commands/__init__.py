"""Management commands of the transport: set_webhook, delete_webhook, runbot."""
