"""The CRM's refusal: an error whose message is meant for the person who asked.
The bottom of the services package: every subject raises it, it imports none of them."""


class CrmError(Exception):
    """A refusal with a message meant for the person who asked."""
