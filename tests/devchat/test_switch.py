"""The local chat is on only where it should be: LOCAL_CHAT's default, the production compose
file, the 404 of every /dev/ URL when off, the staff login of the page, and set_webhook's
refusal to point Telegram at the stand-in."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def production_settings(**env) -> dict:
    """The values settings.py computes from this environment (no .env of a developer in the way)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LOCAL_CHAT", "TELEGRAM_", "DEBUG", "MAKE_RUN",
                                                                       "ADMIN_TELEGRAM"))}
    environ.update({"DJANGO_SETTINGS_MODULE": "vpnbot.settings", "TELEGRAM_BOT_TOKEN": "", "DEBUG": "false",
                    "PORT": "8000", **env})
    script = ("import json, django; from django.conf import settings; django.setup(); print(json.dumps({k: getattr("
              "settings, k) for k in ('LOCAL_CHAT', 'TELEGRAM_API_URL', 'TELEGRAM_BOT_TOKEN', 'ADMIN_TELEGRAM_IDS')}))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_local_chat_is_on_by_default_only_without_a_token_under_debug_or_make_run():
    assert production_settings()["LOCAL_CHAT"] is False
    values = production_settings(MAKE_RUN="1")
    assert values["LOCAL_CHAT"] is True
    assert values["TELEGRAM_API_URL"] == "http://127.0.0.1:8000/dev/telegram"
    assert values["TELEGRAM_BOT_TOKEN"].startswith("1000001:local-") and values["ADMIN_TELEGRAM_IDS"] == [1000002]
    assert production_settings(DEBUG="true", PORT="8123")["TELEGRAM_API_URL"] == "http://127.0.0.1:8123/dev/telegram"
    with_token = production_settings(DEBUG="true", MAKE_RUN="1", TELEGRAM_BOT_TOKEN="42:real")
    assert with_token["LOCAL_CHAT"] is False and with_token["TELEGRAM_API_URL"] == "https://api.telegram.org"
    assert production_settings(MAKE_RUN="1", LOCAL_CHAT="false")["TELEGRAM_API_URL"] == "https://api.telegram.org"


def test_the_production_compose_file_switches_it_off():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["x-app"]["environment"]["LOCAL_CHAT"] == "false"
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        assert service.get("environment", {}).get("LOCAL_CHAT", "false") == "false"


@pytest.mark.parametrize("url", ["/dev/chat/", "/dev/chat/api/people", "/dev/chat/api/chats/5",
                                 "/dev/telegram/bot123456:TEST-token-abcdefghijklmnopqrstuvwxyz/getMe",
                                 "/dev/telegram/file/bot123456:TEST-token-abcdefghijklmnopqrstuvwxyz/photos/file_1.jpg"])
def test_every_url_answers_404_when_off(staff_client, settings, url):
    settings.LOCAL_CHAT = False
    assert staff_client.get(url).status_code == 404
    assert staff_client.post(url, data="{}", content_type="application/json").status_code == 404


def test_the_page_is_for_staff(client, local_chat, django_user_model):
    response = client.get("/dev/chat/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/dev/chat/api/people").status_code == 403
    client.force_login(django_user_model.objects.create_user("customer-support", password="x", is_staff=False))
    assert client.get("/dev/chat/").status_code == 302
    assert client.post("/dev/chat/api/people", data=json.dumps({"first_name": "Eve", "language": "en"}),
                       content_type="application/json").status_code == 403


def test_set_webhook_refuses_to_point_telegram_at_the_stand_in(local_chat, fake_telegram):
    local_chat.TELEGRAM_API_URL = local_chat.LOCAL_CHAT_URL
    with pytest.raises(CommandError, match="local chat's stand-in"):
        call_command("set_webhook", "https://shop.example.com")
    assert fake_telegram.calls_to("setWebhook") == []
