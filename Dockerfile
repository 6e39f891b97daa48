FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libmariadb-dev gcc postgresql-client mariadb-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# bytecode compiled once at build: the app user cannot write it, and every process would compile ~80 modules at start
RUN python -m compileall -q /app
RUN SECRET_KEY=build python manage.py collectstatic --noinput && SECRET_KEY=build python manage.py compile_catalogs
RUN useradd --system --uid 1000 vpnbot && mkdir -p /app/var /backups && chown -R vpnbot /app/var /backups
USER vpnbot
EXPOSE 8000
CMD ["gunicorn", "vpnbot.wsgi", "--config", "gunicorn.conf.py"]
