"""Shared by the anti-fraud tests: English reasons, receipts made the way the bot makes them,
and receipt images (a synthetic bank-app screenshot per seed)."""

import io
import random

import pytest
from django.utils import translation

from vpnbot.shop import services


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.ENABLE_ANTIFRAUD = True
    with translation.override("en"):
        yield


def submit(customer, *, amount=200_000, unique_id="", file_id=""):
    return services.payment_submit(customer=customer, amount=amount, receipt_file_id=file_id or f"AgAC-{random.random()}",
                                   receipt_unique_id=unique_id)


def receipt_image(seed: int, *, width: int = 600, height: int = 900):
    """A bank app's receipt screenshot: a coloured header, lines of text, a few stamps."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    image = Image.new("RGB", (width, height), (245, 245, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 120], fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    for i in range(25):
        y = 150 + i * 28
        draw.rectangle([40, y, 40 + rnd.randrange(100, 500), y + 14],
                       fill=(rnd.randrange(120), rnd.randrange(120), rnd.randrange(120)))
    for _i in range(6):
        x, y = rnd.randrange(width), rnd.randrange(height)
        draw.ellipse([x, y, x + rnd.randrange(30, 200), y + rnd.randrange(30, 200)],
                     fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    return image


def jpeg(image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
