"""/my_services in the bot: the customer's running services with their configs, in as few
messages as fit (a <code> is never cut in two); a config too long for a message comes as a file."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.transport.bot import BotContext
from vpnbot.transport.sender import MAX_TEXT

from .. import selectors
from ..formatting import config_fits_message, config_html, days_left, format_date


def my_services(ctx: BotContext) -> None:
    subs = selectors.subscriptions_for(ctx.customer)
    if not subs:
        ctx.reply(_("You have no active service. Buy one with /buy."))
        return
    parts, files = [], []
    for sub in subs:
        lines = [_("📦 %(plan)s — until %(date)s (%(days)s days left)") % {
            "plan": escape(sub.plan.name), "date": format_date(sub.expires_at, ctx.customer), "days": days_left(sub)}]
        if not sub.config:
            lines.append(_("Your config is being prepared; you will get a message."))
        elif config_fits_message(sub.config):
            lines.append("<code>" + config_html(sub.config) + "</code>")
        else:  # saved before configs were limited to what fits in a message
            lines.append(_("Your config is in the file below."))
            files.append(sub)
        parts.append("\n".join(lines))
    # one message per group of services that fits: Telegram refuses a <code> cut in two
    messages = [parts[0]]
    for part in parts[1:]:
        if len(messages[-1]) + 2 + len(part) > MAX_TEXT:
            messages.append(part)
        else:
            messages[-1] += "\n\n" + part
    for text in messages:
        ctx.reply(text)
    for sub in files:
        ctx.reply_document(f"config-{sub.pk}.txt", sub.config.encode(),
                           caption=_("Config of %(plan)s") % {"plan": sub.plan.name})
