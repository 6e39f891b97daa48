"""Read-only queries shared by the bot, the admin and the API."""

from .models import SmartDiscount


def discount_count() -> int:
    return SmartDiscount.objects.exclude(status=SmartDiscount.Status.ARCHIVED).count()


def discount_page(*, offset: int, limit: int) -> list[SmartDiscount]:
    return list(SmartDiscount.objects.exclude(status=SmartDiscount.Status.ARCHIVED).order_by("-id")[offset:offset + limit])
