"""The core app has no tables. This module exists because Django sends `post_migrate`
only to apps with a models module, and the core writes the default schedules then."""
