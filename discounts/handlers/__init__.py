"""Smart discounts in the bot: /available_discounts, /set_birthday, /user_discount_profile,
and for admins /add_smart_discount, /list_smart_discounts, /smart_discount_stats."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.transport.bot import Feature, add_callback, add_command

from .. import services
from . import customers, listing, wizard

SMART_DISCOUNTS = Feature(services.enabled, off_text=lambda: _("Smart discounts are switched off."))


def register(application) -> None:
    add_command(application, "available_discounts", customers.available_discounts, feature=SMART_DISCOUNTS)
    add_command(application, "set_birthday", customers.set_birthday, feature=SMART_DISCOUNTS)
    add_command(application, "user_discount_profile", customers.user_discount_profile, feature=SMART_DISCOUNTS)
    add_command(application, "add_smart_discount", wizard.add_smart_discount, admin=True, feature=SMART_DISCOUNTS)
    add_command(application, "list_smart_discounts", listing.list_smart_discounts, admin=True, feature=SMART_DISCOUNTS)
    add_command(application, "smart_discount_stats", listing.smart_discount_stats, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:bd:(\d{1,2})$", customers.birthday_chosen, feature=SMART_DISCOUNTS)
    add_callback(application, wizard.KIND_PATTERN, wizard.kind_chosen, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:new:ok$", wizard.create_pressed, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:new:no$", wizard.cancel_pressed, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:ls:(\d{1,9})$", listing.page_pressed, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:pause:" + listing.TARGET, listing.pause_pressed, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:resume:" + listing.TARGET, listing.resume_pressed, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:del:" + listing.TARGET, listing.delete_pressed, admin=True, feature=SMART_DISCOUNTS)
    add_callback(application, r"^disc:delok:" + listing.TARGET, listing.delete_confirmed, admin=True, feature=SMART_DISCOUNTS)
