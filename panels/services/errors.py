"""The panels app's refusal: an error whose message is meant for the operator who asked."""


class PanelsError(Exception):
    pass
