"""What the CRM's handlers share: the ENABLE_CRM switch they obey and a segment's label.
The bottom of the handlers package: it imports none of its modules."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.transport.bot import Feature

from ..models import Segment

# Commands reply with it and buttons answer with it while the CRM is off.
CRM = Feature.setting("ENABLE_CRM", off_text=lambda: _("This feature is switched off."))


def segment_label(key: str) -> str:
    return str(dict(Segment.choices).get(key, key))
