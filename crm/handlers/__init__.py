"""The CRM in the bot: /my_profile, /my_offers, /my_insights for customers; /crm_dashboard,
/user_analytics, /create_campaign, /campaign_stats, /at_risk_users for admins."""

from vpnbot.transport.bot import add_callback, add_command

from . import admins, campaign_dialog, customers
from .common import CRM


def register(application) -> None:
    add_command(application, "my_profile", customers.my_profile, feature=CRM)
    add_command(application, "my_offers", customers.my_offers, feature=CRM)
    add_command(application, "my_insights", customers.my_insights, feature=CRM)
    add_command(application, "crm_dashboard", admins.crm_dashboard, admin=True, feature=CRM)
    add_command(application, "user_analytics", admins.user_analytics, admin=True, feature=CRM)
    add_command(application, "create_campaign", campaign_dialog.create_campaign, admin=True, feature=CRM)
    add_command(application, "campaign_stats", admins.campaign_stats, admin=True, feature=CRM)
    add_command(application, "at_risk_users", admins.at_risk_users, admin=True, feature=CRM)
    add_callback(application, r"^crm:c:(\d{1,12})$", customers.campaign_pressed, feature=CRM)
    add_callback(application, r"^crm:ar:(\d{1,6})$", admins.at_risk_page, admin=True, feature=CRM)
    add_callback(application, r"^crm:wb:(\d{1,12})$", admins.send_winback, admin=True, feature=CRM)
    add_callback(application, r"^crm:cs:(\d{1,12})$", campaign_dialog.campaign_send, admin=True, feature=CRM)
    add_callback(application, r"^crm:cx:(\d{1,12})$", campaign_dialog.campaign_discard, admin=True, feature=CRM)
