.PHONY: run test lint bench-webhook check

# Run the product (SQLite, file-system broker; web + worker + scheduler).
run:
	scripts/run.sh

# Run the test suite (DATABASE_URL selects SQLite (default), PostgreSQL or MariaDB).
test:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/python manage.py makemigrations --check --dry-run

bench-webhook:
	bench/webhook/run.sh
