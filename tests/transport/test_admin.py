"""The transport's admin (the update inbox) in the operator's language."""

import pytest

from tests.admin_i18n import assert_shows
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db

TEXTS = {
    "fa": ("پردازش دوبارهٔ به‌روزرسانی‌های ناموفق انتخاب‌شده", "1 به‌روزرسانی دوباره در صف پردازش قرار گرفت.",
           "1 به‌روزرسانی ناموفق نبود و دست‌نخورده ماند."),
    "en": ("Retry the selected failed updates", "1 update(s) queued again.",
           "1 update(s) were not failed and were left alone."),
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_retrying_failed_updates_reads_in_the_operators_language(admin_client, language):
    action, queued, skipped = TEXTS[language]
    failed = TelegramUpdate.objects.create(update_id=1, kind="message", payload={}, status="failed", error="boom")
    done = TelegramUpdate.objects.create(update_id=2, kind="message", payload={}, status="done")
    assert_shows(admin_client.get("/admin/telegram/telegramupdate/", HTTP_ACCEPT_LANGUAGE=language), action)
    page = admin_client.post("/admin/telegram/telegramupdate/", {"action": "retry", "_selected_action": [failed.pk, done.pk]},
                             follow=True, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, queued, skipped)
    assert TelegramUpdate.objects.get(pk=failed.pk).status == "received"
