"""The Mini App's one page: a server-rendered shell (the request's language, right to left for
Persian) that app.js fills from /app/api/. The page's texts for the script come as a JSON
dictionary per language, made by gettext here, so the Persian catalog covers them; the script
switches language without a reload once /app/api/me says which the customer chose."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

TELEGRAM_SDK = "https://telegram.org/js/telegram-web-app.js"
RTL_LANGUAGES = {"fa", "ar", "he", "ur"}

# Only the shop's own origin and Telegram's SDK script; Telegram Web embeds the page in a frame.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' https://telegram.org",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors https://web.telegram.org https://*.telegram.org",
])

# The script's texts: key -> msgid. "%(name)s" placeholders are filled by the script.
TEXTS = {
    "title": _("VPN shop"),
    "loading": _("Loading…"),
    "retry": _("Try again"),
    "error_network": _("Could not reach the shop. Check your connection and try again."),
    "error_generic": _("Something went wrong. Please try again."),
    "error_auth": _("Open this page from the bot in Telegram."),
    "disabled": _("This is not available right now."),
    "tab_plans": _("Plans"),
    "tab_services": _("My services"),
    "tab_wallet": _("Wallet"),
    "tab_referrals": _("Referrals"),
    "tab_settings": _("Settings"),
    "balance": _("Balance: %(amount)s"),
    "no_plans": _("No plans are on sale right now. Please check back later."),
    "days": _("%(days)s days"),
    "traffic_gb": _("%(gb)s GB"),
    "unlimited": _("unlimited"),
    "devices": _("%(n)s device(s)"),
    "choose": _("Choose"),
    "quantity": _("How many periods?"),
    "quantity_option": _("%(n)s × %(days)s days"),
    "code": _("Discount code"),
    "code_apply": _("Apply"),
    "code_placeholder": _("Optional"),
    "code_not_applied": _("The code %(code)s does not apply to this purchase (unknown, expired, used up or for other plans)."),
    "list_price": _("List price"),
    "total": _("Total"),
    "cashback": _("Cashback to your wallet after payment"),
    "pay_wallet": _("Pay %(amount)s from the wallet"),
    "pay_with": _("Pay with %(method)s"),
    "wallet_short": _("Your wallet is short by %(amount)s. Top up or pay online."),
    "price_changed": _("The price changed since you saw it."),
    "paid": _("✅ Paid %(amount)s for %(plan)s. Your service runs until %(date)s."),
    "see_services": _("See my services"),
    "waiting_payment": _("Waiting for the payment… Complete it in the window that opened, then come back here."),
    "payment_done": _("✅ Payment received."),
    "payment_no_order": _("✅ Payment received, but the order could not be placed (the price or the plan changed): "
                          "the money is in your wallet."),
    "payment_failed": _("The payment did not go through."),
    "payment_cancelled": _("Payment cancelled."),
    "payment_pending": _("The payment is not confirmed yet. We will message you in the bot when it is."),
    "check_again": _("Check again"),
    "no_services": _("You have no active service."),
    "buy_one": _("Buy a service"),
    "trial": _("free trial"),
    "until": _("until %(date)s"),
    "days_left": _("%(days)s days left"),
    "usage": _("%(used)s of %(limit)s used"),
    "usage_unlimited": _("%(used)s used (unlimited)"),
    "usage_as_of": _("Usage as of %(date)s"),
    "status_active": _("Active"),
    "status_disabled": _("Switched off"),
    "status_expired": _("Expired"),
    "status_pending": _("Being prepared"),
    "status_limited": _("Traffic used up"),
    "preparing": _("Your config is being prepared; you will get a message."),
    "sub_link": _("Your subscription link"),
    "copy": _("Copy"),
    "copied": _("Copied"),
    "copy_failed": _("Could not copy; select the text and copy it by hand."),
    "show_qr": _("QR code"),
    "renew": _("Renew"),
    "buy_plan": _("Buy %(plan)s"),
    "more_traffic": _("More traffic"),
    "new_link": _("New link"),
    "new_link_confirm": _("A new link for %(plan)s? Your old link will stop working: every device that uses it "
                          "must be set up again with the new one."),
    "new_link_done": _("Done: your new link is shown. Your old link no longer works."),
    "traffic_packs": _("Extra traffic for %(plan)s"),
    "no_packs": _("No traffic packs are on sale right now."),
    "buy_pack": _("Buy"),
    "pack_done": _("✅ %(gb)s GB added to %(plan)s."),
    "wallet_history": _("Last transactions"),
    "no_transactions": _("No transactions yet."),
    "topup": _("Top up"),
    "topup_amount": _("How much do you want to add?"),
    "topup_range": _("A whole number between %(min)s and %(max)s."),
    "topup_method": _("How do you want to pay?"),
    "continue": _("Continue"),
    "card_method": _("Card transfer and receipt"),
    "card_transfer": _("Transfer %(amount)s to the shop's card, then send a photo of the receipt in the chat with the bot."),
    "card_command": _("In the chat with the bot, send %(command)s and then the photo of the receipt."),
    "card_number": _("Card number"),
    "card_holder": _("Card holder"),
    "open_chat": _("Send the receipt in the chat"),
    "referral_intro": _("Invite friends with your link and earn %(percent)s%% of their first purchase."),
    "referral_link": _("Your invitation link"),
    "share": _("Share"),
    "share_text": _("A good VPN: join with my link"),
    "joined": _("Friends who joined"),
    "earned": _("Earned"),
    "language": _("Language"),
    "notifications": _("Notifications"),
    "quiet_hours": _("Quiet hours"),
    "quiet_from": _("From"),
    "quiet_until": _("Until"),
    "quiet_hint": _("No messages in these hours (your time zone). The same time twice turns it off."),
    "time_zone": _("Time zone: %(zone)s"),
    "save": _("Save"),
    "saved": _("Saved"),
    "cancel": _("Cancel"),
    "yes": _("Yes"),
}


def texts(language: str) -> dict[str, str]:
    with translation.override(language):
        result = {key: str(value) for key, value in TEXTS.items()}
        result["currency"] = str(_("Toman")) if settings.CURRENCY == "Toman" else settings.CURRENCY
        return result


def _language(request: HttpRequest) -> str:
    """The shell's language: ?lang= (the script's reload hint), else the request's."""
    codes = {code for code, _name in settings.LANGUAGES}
    asked = request.GET.get("lang", "")
    if asked in codes:
        return asked
    current = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return current if current in codes else settings.LANGUAGE_CODE


@require_GET
@xframe_options_exempt  # Telegram Web opens Mini Apps in a frame; CSP frame-ancestors limits who
def app(request: HttpRequest) -> HttpResponse:
    if not settings.MINIAPP_ENABLED:
        raise Http404
    language = _language(request)
    all_texts = {code: texts(code) for code, _name in settings.LANGUAGES}
    with translation.override(language):
        response = render(request, "miniapp/app.html", {
            "language": language, "direction": "rtl" if language in RTL_LANGUAGES else "ltr",
            "texts": all_texts, "sdk": TELEGRAM_SDK,
            "config": {"language": language, "rtl": sorted(RTL_LANGUAGES), "api": request.path + "api/",
                       "referral_percent": settings.REFERRAL_REWARD_PERCENT,
                       # the chat for a card receipt (t.me/<bot>?start=topup_<amount>); the card itself
                       # comes from /app/api/methods, to customers only (this page needs no login)
                       "bot_username": settings.TELEGRAM_BOT_USERNAME},
        })
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response.headers.setdefault("Vary", "Accept-Language")
    return response
