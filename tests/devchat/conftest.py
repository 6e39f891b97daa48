"""The local chat on: its files in a folder of the test's own, the stand-in answering for the
test's bot token."""

from io import BytesIO

import pytest


@pytest.fixture
def local_chat(settings, tmp_path):
    settings.LOCAL_CHAT = True
    settings.LOCAL_CHAT_DIR = str(tmp_path / "devchat")
    return settings


def picture(color=(200, 30, 30), size=(64, 48), fmt="PNG") -> bytes:
    """A real image, as a phone would send one."""
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("dev", password="pw-for-tests", is_staff=True)
    client.force_login(user)
    return client
