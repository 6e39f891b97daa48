from vpnbot.core.numbers import latin_digits, parse_whole_number


def test_persian_and_arabic_digits_read_as_latin():
    assert latin_digits("۱۲۳٬۴۵۶٫۵ and ٧٨٩") == "123,456.5 and 789"


def test_whole_numbers_in_any_digits_within_the_limit():
    assert parse_whole_number(" ۱۲۳ ") == 123
    assert parse_whole_number("٤٢") == 42
    assert parse_whole_number("1" * 12) == int("1" * 12)
    for bad in ("1" * 13, "", "-5", "1.5", "²", "12a", None):
        assert parse_whole_number(bad) is None
