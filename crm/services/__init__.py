"""The CRM's business operations (the seed's CRMService), grouped by subject; every public
name is re-exported here, so `from crm import services` reaches them all."""

from .. import selectors
from .activity import activity_from_event, activity_record, crm_enabled
from .campaign_delivery import (
    campaign_audience,
    campaign_buttons,
    campaign_count,
    campaign_deliver,
    campaign_render,
    campaigns_due,
    recipient_press,
)
from .campaigns import (
    EDITABLE_FIELDS,
    campaign_cancel,
    campaign_check_fields,
    campaign_clean,
    campaign_create,
    campaign_delete,
    campaign_save_edited,
    campaign_start,
    campaign_stop,
    campaign_update,
    validate_buttons,
    validate_condition,
    validate_segments,
    validate_text,
)
from .errors import CrmError
from .insights import admin_insight_text, insight_text
from .offers import (
    offer_buy_action,
    offer_create,
    offer_notify,
    offer_send_winback,
    offers_expire,
    offers_generate,
)
from .recompute import profiles_recompute

__all__ = [
    "EDITABLE_FIELDS", "CRMService", "CrmError", "activity_from_event", "activity_record", "admin_insight_text",
    "campaign_audience", "campaign_buttons", "campaign_cancel", "campaign_check_fields", "campaign_clean", "campaign_count",
    "campaign_create", "campaign_delete", "campaign_deliver", "campaign_render", "campaign_save_edited", "campaign_start", "campaign_stop",
    "campaign_update", "campaigns_due", "crm_enabled", "insight_text", "offer_buy_action", "offer_create",
    "offer_notify", "offer_send_winback", "offers_expire", "offers_generate", "profiles_recompute",
    "recipient_press", "validate_buttons", "validate_condition", "validate_segments", "validate_text",
]


class CRMService:
    """The seed's name for the CRM's operations; each is the module-level function (the
    campaign's statistics are a read, in crm.selectors)."""

    recompute = staticmethod(profiles_recompute)
    record_activity = staticmethod(activity_record)
    create_offer = staticmethod(offer_create)
    create_campaign = staticmethod(campaign_create)
    start_campaign = staticmethod(campaign_start)
    deliver_campaign = staticmethod(campaign_deliver)
    campaign_stats = staticmethod(selectors.campaign_stats)
