"""The CRM's business operations (the seed's CRMService), grouped by subject."""

from .activity import activity_from_event, activity_record, activity_timeline, crm_enabled
from .campaigns import (
    CampaignStats,
    campaign_audience,
    campaign_buttons,
    campaign_cancel,
    campaign_count,
    campaign_create,
    campaign_delete,
    campaign_deliver,
    campaign_render,
    campaign_start,
    campaign_stats,
    campaign_stop,
    campaign_update,
    campaigns_due,
    recipient_press,
    validate_segments,
)
from .insights import admin_insight_text, insight_text, insights_for, insights_shop
from .offers import (
    CrmError,
    DiscountsUnavailable,
    offer_buy_action,
    offer_create,
    offer_notify,
    offer_send_winback,
    offers_expire,
    offers_for,
    offers_generate,
)
from .recompute import profile_for, profiles_recompute

__all__ = [
    "CRMService", "CampaignStats", "CrmError", "DiscountsUnavailable", "activity_from_event", "activity_record",
    "activity_timeline", "admin_insight_text", "campaign_audience", "campaign_buttons",
    "campaign_cancel", "campaign_count", "campaign_create", "campaign_delete", "campaign_deliver", "campaign_render",
    "campaign_start", "campaign_stop", "campaign_update",
    "campaign_stats", "campaigns_due", "crm_enabled", "insight_text", "insights_for", "insights_shop",
    "offer_buy_action", "offer_create", "offer_notify", "offer_send_winback", "offers_expire", "offers_for",
    "offers_generate", "profile_for",
    "profiles_recompute", "recipient_press", "validate_segments",
]


class CRMService:
    """The seed's name for the CRM's operations; each is the module-level function."""

    recompute = staticmethod(profiles_recompute)
    record_activity = staticmethod(activity_record)
    create_offer = staticmethod(offer_create)
    create_campaign = staticmethod(campaign_create)
    start_campaign = staticmethod(campaign_start)
    deliver_campaign = staticmethod(campaign_deliver)
    campaign_stats = staticmethod(campaign_stats)
