"""gunicorn settings for production (gunicorn reads this file from the working directory).

Threads, not processes alone: Telegram keeps up to 40 webhook connections open
(keep-alive), and a thread waiting on the database does not hold a CPU. Every value can be
overridden from the environment.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "30"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# "-" writes an access log line per request to stdout; off by default (every update is in the inbox)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# "auto" parses requests with gunicorn_h1c (C, picohttpparser; in requirements.txt) when it is
# installed: a quarter of the Python work of a webhook acknowledgement was header parsing.
http_parser = os.environ.get("GUNICORN_HTTP_PARSER", "auto")


def post_worker_init(worker):
    # Everything loaded so far (Django, the apps, the URL conf) lives as long as the worker:
    # keep it out of the collector's way, so full collections stay short and rare.
    gc.collect()
    gc.freeze()
