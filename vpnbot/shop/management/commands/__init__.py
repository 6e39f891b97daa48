"""The shop's management commands: demo_data."""
