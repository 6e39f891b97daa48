"""Project plumbing every app may use: autodiscovery, translations, default schedules,
API URL collection, the health check and admin helpers. It holds no business rule."""
