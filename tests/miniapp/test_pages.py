"""The Mini App's page (/app/): its shell, languages, security headers, and the size budget of
what a phone downloads on the first load."""

import gzip
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from miniapp.views import TELEGRAM_SDK, TEXTS

BUDGET = 150 * 1024  # bytes of JS + CSS, gzipped, on the first load


def _json_script(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_the_page_is_persian_right_to_left_by_default(client, settings):
    settings.LANGUAGE_CODE = "fa"
    response = client.get("/app/", HTTP_ACCEPT_LANGUAGE="fa")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fa" dir="rtl">' in html
    assert "سرویس‌های من" in html  # "My services" in the tabs, rendered by the server
    texts = _json_script(html, "miniapp-texts")
    assert set(texts) == {"fa", "en"}
    assert set(texts["fa"]) == set(TEXTS) | {"currency"}
    assert texts["fa"]["tab_wallet"] == "کیف پول" and texts["en"]["tab_wallet"] == "Wallet"
    assert texts["fa"]["currency"] == "تومان"
    assert _json_script(html, "miniapp-config")["api"] == "/app/api/"


def test_the_page_follows_the_request_language_and_the_lang_hint(client):
    html = client.get("/app/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en" dir="ltr">' in html and "My services" in html
    html = client.get("/app/?lang=fa", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fa" dir="rtl">' in html
    html = client.get("/app/?lang=xx", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en" dir="ltr">' in html


def test_the_page_is_framed_only_by_telegram_and_loads_only_its_own_and_telegrams_scripts(client):
    response = client.get("/app/")
    assert "X-Frame-Options" not in response.headers  # Telegram Web shows Mini Apps in a frame
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "https://web.telegram.org https://*.telegram.org"
    assert csp["script-src"] == "'self' https://telegram.org"
    assert csp["default-src"] == "'self'" and csp["connect-src"] == "'self'" and csp["object-src"] == "'none'"
    html = response.content.decode()
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    assert sources[0] == TELEGRAM_SDK and all(s.startswith("/static/") for s in sources[1:])
    assert re.search(r'<script async src="https://telegram.org/js/telegram-web-app.js"', html)  # never blocks the page
    assert not re.search(r"<script>(?!\s*</script>)", html)  # no inline script: the CSP would refuse it
    assert "style=" not in html
    assert response.headers["Cache-Control"] == "no-store"
    # the admin keeps refusing frames
    assert client.get("/admin/login/").headers["X-Frame-Options"] == "DENY"


def test_the_page_is_gone_when_the_mini_app_is_off(client, settings):
    settings.MINIAPP_ENABLED = False
    assert client.get("/app/").status_code == 404
    assert client.post("/app/").status_code in (404, 405)


def test_the_page_answers_only_get(client):
    assert client.post("/app/").status_code == 405


def _static_files(html: str) -> list[Path]:
    paths = re.findall(r'(?:src|href)="/static/([^"]+\.(?:js|css))"', html)
    assert {"miniapp/app.js", "miniapp/app.css"} <= set(paths)
    return [Path(finders.find(p)) for p in paths]


def test_the_first_load_stays_under_150_kb_of_gzipped_js_and_css(client):
    html = client.get("/app/").content.decode()
    sizes = {path.name: len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in _static_files(html)}
    total = sum(sizes.values())
    print(f"Mini App first load: {total / 1024:.1f} KB gzipped JS+CSS {sizes}")
    assert total < BUDGET, sizes


@pytest.mark.parametrize("name", ["miniapp/app.js", "miniapp/app.css", "miniapp/vendor/qrcode.js"])
def test_the_static_files_name_no_other_host(name):
    text = Path(finders.find(name)).read_text()
    hosts = set(re.findall(r"https?://([A-Za-z0-9.-]+)", text))
    allowed = {"t.me", "www.opensource.org", "www.d-project.com", "www.denso-wave.com", "stackoverflow.com",
               "www.w3.org"}  # the SVG namespace, not a request
    assert hosts <= allowed, hosts - allowed  # links the customer opens in Telegram, or the licence's comments


def test_the_shops_card_is_given_to_customers_only_not_on_the_open_page(client, miniapp, settings):
    settings.PAYMENT_CARD_NUMBER = "6037-9911-2233-4455"
    settings.PAYMENT_CARD_HOLDER = "Shop Owner"
    page = client.get("/app/").content.decode()
    assert "6037-9911" not in page and "Shop Owner" not in page
    assert client.get("/app/api/methods").status_code == 401
    assert miniapp.get("methods").json()["card"] == {"number": "6037-9911-2233-4455", "holder": "Shop Owner"}
    settings.PAYMENT_CARD_NUMBER = ""
    assert miniapp.get("methods").json()["card"] is None
