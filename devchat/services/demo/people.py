"""Names for the demo's customers: most of them Persian (in Persian script), some English."""

from __future__ import annotations

import random

PERSIAN_FIRST = ["علی", "مریم", "رضا", "زهرا", "محمد", "فاطمه", "حسین", "سارا", "امیر", "نگار", "مهدی", "الهام", "پویا",
                 "نازنین", "آرش", "شیما", "کاوه", "لیلا", "بهرام", "مینا", "سینا", "پریسا", "حامد", "یاسمن", "نیما", "هستی"]
PERSIAN_LAST = ["محمدی", "حسینی", "رضایی", "احمدی", "کریمی", "موسوی", "جعفری", "رحیمی", "کاظمی", "صادقی", "نوری", ""]
ENGLISH_FIRST = ["Sara", "Ali", "Reza", "Maryam", "Arash", "Neda", "Kian", "Dara", "Leyla", "Omid", "Nika", "Babak",
                 "Shirin", "Farid", "Roya", "Navid"]
ENGLISH_LAST = ["K", "M", "Tehrani", "Shirazi", "Ahmadi", "Karimi", ""]


def person(rng: random.Random, number: int) -> tuple[str, str, str]:
    """(first name, last name, Telegram app language) of the demo's customer number `number`."""
    if rng.random() < 0.75:
        return rng.choice(PERSIAN_FIRST), rng.choice(PERSIAN_LAST), rng.choice(["fa", "fa", "fa", "en"])
    return rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST), rng.choice(["en", "en", "fa"])
