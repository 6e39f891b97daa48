"""Where settings come from: BASE_DIR and a django-environ reader of the environment and
of the optional .env file beside manage.py."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
