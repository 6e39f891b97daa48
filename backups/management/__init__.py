"""The backup app's management commands (see commands/)."""
