"""The Telegram transport: the webhook and update inbox, the python-telegram-bot Application,
the rate-limited sender and the message port. It carries updates and messages, no shop rules."""
