"""What every handler gets from the transport: the callback's match, the actor, feature
switches, and an answer for a button nobody handles."""

import pytest

from vpnbot.transport.bot import BotContext, Feature, add_callback, add_command
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def _answers(fake):
    return [c.params.get("text") for c in fake.calls_to("answerCallbackQuery")]


@pytest.mark.parametrize("data", ["nonsense:1", ""])
def test_a_button_nobody_handles_is_answered_and_the_update_ends_done(bot, fake_telegram, data):
    from tests.conftest import TelegramUser

    bot.post(bot.callback_update(TelegramUser(31338, language_code="en"), data))
    assert _answers(fake_telegram) == ["This button is no longer valid. Please start again."]
    assert set(TelegramUpdate.objects.values_list("status", flat=True)) == {"done"}


def test_the_actor_names_a_user_by_username_else_by_id(tg_user):
    from types import SimpleNamespace

    def ctx_for(username):
        user = SimpleNamespace(id=42, username=username)
        update = SimpleNamespace(effective_user=user, effective_chat=None, effective_message=None, callback_query=None)
        return BotContext(update)

    assert ctx_for("sara").actor == "@sara"
    assert ctx_for(None).actor == "tg:42"


@pytest.fixture
def extra_handlers(fake_telegram, settings):
    """Handlers added to the application the webhook feeds, for this test only."""
    from vpnbot.transport import application

    app = application.build_application()
    seen = []

    def pressed(ctx):
        seen.append(ctx.match.groups())
        ctx.answer("ok")

    def hello(ctx):
        seen.append("hello")
        ctx.reply("hi")

    switch = Feature.setting("TEST_FEATURE_ON", off_text=lambda: "Feature off.")
    add_callback(app, r"^tst:(\d{1,3}):([a-z]+)$", pressed, feature=switch)
    add_command(app, "tsthello", hello, feature="TEST_FEATURE_ON")
    # handlers added after build: move them ahead of the catch-alls of group 0
    group = app.handlers[0]
    group[:] = group[-2:] + group[:-2]
    application._state.update(app=app, key=application._state["key"], initialized=False)
    application._state["key"] = None
    return app, seen


def test_a_callback_reads_its_groups_from_ctx_match_and_obeys_its_feature(bot, fake_telegram, settings,
                                                                            extra_handlers, monkeypatch):
    from tests.conftest import TelegramUser
    from vpnbot.transport import application

    tg_user = TelegramUser(31337, language_code="en")
    app, seen = extra_handlers
    monkeypatch.setattr(application, "build_application", lambda: app)
    settings.TEST_FEATURE_ON = True
    bot.press(tg_user, "tst:12:abc")
    bot.send(tg_user, "/tsthello")
    assert seen == [("12", "abc"), "hello"]
    settings.TEST_FEATURE_ON = False
    bot.press(tg_user, "tst:12:abc")
    bot.send(tg_user, "/tsthello")
    assert seen == [("12", "abc"), "hello"]  # switched off: neither ran
    assert _answers(fake_telegram)[-1] == "Feature off."
    assert fake_telegram.last_text(tg_user.id) == "This feature is switched off."


def test_inline_keyboard_makes_callback_link_and_mini_app_buttons():
    from vpnbot.transport.bot import inline_keyboard

    markup = inline_keyboard([[("a", "x:1"), ("b", "url:https://t.me/x")], [("c", "webapp:https://shop.example.com/app/")]])
    assert markup == {"inline_keyboard": [
        [{"text": "a", "callback_data": "x:1"}, {"text": "b", "url": "https://t.me/x"}],
        [{"text": "c", "web_app": {"url": "https://shop.example.com/app/"}}]]}
