"""The mini-CRM app: profiles, segments, journeys, insights, offers and campaigns.
Off with ENABLE_CRM=false; see docs/crm.md."""
