"""The refusal the notifications services raise, with a message meant for the person who asked.
The lowest room of the package: it imports nothing of ours."""


class NotificationError(Exception):
    """A refusal with a message meant for the person who asked."""
