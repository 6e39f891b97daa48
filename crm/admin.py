"""The CRM in the Django admin: profiles, activities, journeys, insights, offers and runs to
read; campaigns to write, preview, send, cancel and stop, through the services."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vpnbot.core.admin_tools import confirm_action, interpolate, text_list
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Customer

from . import selectors, services
from .models import (
    Campaign,
    CampaignRecipient,
    CustomerJourney,
    PersonalizedOffer,
    RecomputeRun,
    UserActivity,
    UserInsight,
    UserProfile,
)
from .services import EDITABLE_FIELDS, CrmError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UserProfile)
class UserProfileAdmin(ReadOnlyAdmin):
    list_display = ("customer", "segment", "stage", "rfm", "churn_risk", "frequency", "monetary_amount", "recency_days",
                    "active_until", "updated_at")
    list_filter = ("segment", "stage", "r_score", "f_score", "m_score")
    search_fields = ("customer__username", "=customer__telegram_id", "customer__first_name")
    list_select_related = ("customer",)
    readonly_fields = ("timeline", "journey")
    ordering = ("-churn_risk", "customer_id")

    @admin.display(description=gettext_lazy("RFM score"))
    def rfm(self, obj):
        return obj.rfm

    @admin.display(description=gettext_lazy("activity timeline (latest 30)"))
    def timeline(self, obj):
        rows = selectors.activity_timeline(customer=obj.customer, limit=30)
        if not rows:
            return "—"
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((a.created_at.strftime("%Y-%m-%d %H:%M"), a.get_kind_display(), a.ref, a.amount or "") for a in rows)))

    @admin.display(description=gettext_lazy("journey"))
    def journey(self, obj):
        steps = selectors.journey(customer=obj.customer, limit=30)
        if not steps:
            return "—"
        # the arrow is part of the msgid: it points the other way in a right-to-left language
        return format_html_join(mark_safe("<br>"), "{}: {}", (
            (s.at.strftime("%Y-%m-%d %H:%M"), interpolate(_("%(from)s → %(to)s"), **{
                "from": s.get_from_stage_display(), "to": s.get_stage_display()})) for s in steps))


@admin.register(UserActivity)
class UserActivityAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "kind", "ref", "amount")
    list_filter = ("kind",)
    search_fields = ("customer__username", "=customer__telegram_id", "ref")
    list_select_related = ("customer",)


@admin.register(CustomerJourney)
class CustomerJourneyAdmin(ReadOnlyAdmin):
    list_display = ("at", "customer", "from_stage", "stage")
    list_filter = ("stage", "from_stage")
    search_fields = ("customer__username", "=customer__telegram_id")
    list_select_related = ("customer",)


@admin.register(UserInsight)
class UserInsightAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "kind", "segment", "value", "severity", "expires_at")
    list_filter = ("kind", "severity", "segment")
    search_fields = ("customer__username", "=customer__telegram_id")
    list_select_related = ("customer",)


@admin.register(PersonalizedOffer)
class PersonalizedOfferAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "kind", "percent_bp", "code", "status", "valid_until", "used_at")
    list_filter = ("kind", "status", "segment")
    search_fields = ("customer__username", "=customer__telegram_id", "code")
    list_select_related = ("customer",)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = ("as_of", "profiles", "created", "changed", "journey_steps", "insights", "offers", "seconds")


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ("name", "segments", "condition", "text", "photo", "buttons", "offer_percent_bp", "offer_valid_hours",
                  "urgent", "scheduled_for", "conversion_days")

    def clean(self):
        data = super().clean()
        for field, error in services.campaign_check_fields(data).items():
            self.add_error(field, error)
        if not self.errors:
            # the whole campaign, with the service's checks (offer range, window, time zone): an
            # admin-made campaign must be one the delivery can send
            try:
                data.update(services.campaign_clean(**{f: data.get(f) for f in EDITABLE_FIELDS}))
            except CrmError as exc:
                self.add_error(None, str(exc))
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("id", "name", "status", "segments", "offer_percent_bp", "scheduled_for", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("status", "preview", "audience", "stats", "created_by", "created_at", "started_at", "finished_at")
    actions = ("send", "cancel", "stop")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # a started campaign keeps its recipients: they are what stops a rerun sending twice
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        try:
            services.campaign_delete(campaign_id=obj.pk)
        except CrmError as exc:  # started meanwhile
            self.message_user(request, interpolate(_("Campaign #%(id)s: %(error)s"), id=obj.pk, error=exc),
                              messages.ERROR)

    def delete_queryset(self, request, queryset):
        for campaign in queryset:
            self.delete_model(request, campaign)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()[:100]
            return super().save_model(request, obj, form, change)
        # Only the fields edited, under a lock: a campaign that started meanwhile keeps its
        # status and timestamps instead of being overwritten from the form's stale copy.
        fields = [f for f in form.changed_data if f in EDITABLE_FIELDS]
        status = services.campaign_save_edited(campaign=obj, fields=fields)
        if status is not None:
            self.message_user(request, interpolate(_("The campaign started meanwhile (%(status)s); your changes "
                                                     "were not saved."), status=Campaign.Status(status).label),
                              messages.ERROR)
            request._campaign_not_saved = True

    def response_change(self, request, obj):
        if getattr(request, "_campaign_not_saved", False):  # no "changed successfully" after a refusal
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.display(description=gettext_lazy("preview (for a sample customer)"))
    def preview(self, obj):
        if not obj.pk:
            return "—"
        sample = services.campaign_audience(obj).first() or Customer(first_name="Sara", username="sara")
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", services.campaign_render(obj, sample))

    @admin.display(description=gettext_lazy("recipients now"))
    def audience(self, obj):
        return services.campaign_count(obj) if obj.pk else "—"

    @admin.display(description=gettext_lazy("stats"))
    def stats(self, obj):
        if not obj.pk:
            return "—"
        s = selectors.campaign_stats(campaign=obj)
        return interpolate(_("targeted %(targeted)s · pending %(pending)s · sent %(sent)s · failed %(failed)s · "
                             "blocked %(blocked)s · skipped %(skipped)s · pressed %(pressed)s · converted %(converted)s "
                             "· revenue %(revenue)s"),
                           targeted=s.targeted, pending=s.pending, sent=s.sent, failed=s.failed, blocked=s.blocked,
                           skipped=s.skipped, pressed=s.pressed, converted=s.converted, revenue=money(s.revenue_amount))

    def has_send_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("crm.send_campaign")

    @staticmethod
    def _recipients(campaign) -> str:
        n = services.campaign_count(campaign)
        return interpolate(ngettext("#%(id)s %(name)s: %(n)s recipient", "#%(id)s %(name)s: %(n)s recipients", n),
                           id=campaign.pk, name=campaign.name, n=n)

    @admin.action(description=gettext_lazy("Send the selected campaigns…"), permissions=["send"])
    def send(self, request, queryset):
        drafts = queryset.filter(status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED])
        if not drafts.exists():
            self.message_user(request, _("Only draft or scheduled campaigns can be sent."), messages.ERROR)
            return None
        counts = text_list(self._recipients(c) for c in drafts)

        def perform(qs, _data):
            for campaign in qs:
                try:
                    services.campaign_start(campaign_id=campaign.pk)
                    self.message_user(request, interpolate(_("Campaign #%(id)s is scheduled to send."), id=campaign.pk),
                                      messages.SUCCESS)
                except CrmError as exc:
                    self.message_user(request, interpolate(_("Campaign #%(id)s: %(error)s"), id=campaign.pk, error=exc),
                                      messages.ERROR)

        return confirm_action(self, request, drafts, action="send", title=_("Send campaigns"),
                              question=interpolate(_("Send these campaigns? %(counts)s. Messages cannot be taken back."),
                                                   counts=counts),
                              confirm_label=_("Yes, send"), perform=perform)

    @admin.action(description=gettext_lazy("Cancel the selected campaigns"), permissions=["send"])
    def cancel(self, request, queryset):
        cancelled = sum(services.campaign_cancel(campaign_id=c.pk) for c in queryset)
        self.message_user(request, interpolate(ngettext("%(n)s campaign cancelled.", "%(n)s campaigns cancelled.",
                                                        cancelled), n=cancelled), messages.SUCCESS)

    @admin.action(description=gettext_lazy("Stop sending the selected campaigns…"), permissions=["send"])
    def stop(self, request, queryset):
        running = queryset.filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.SENT])
        if not running.exists():
            self.message_user(request, _("Only a scheduled or sending campaign can be stopped."), messages.ERROR)
            return None

        def perform(qs, _data):
            for campaign in qs:
                try:
                    _campaign, cancelled = services.campaign_stop(campaign_id=campaign.pk)
                except CrmError as exc:
                    self.message_user(request, interpolate(_("Campaign #%(id)s: %(error)s"), id=campaign.pk, error=exc),
                                      messages.ERROR)
                    continue
                self.message_user(request, interpolate(ngettext(
                    "Campaign #%(id)s stopped: %(n)s message not yet sent was cancelled.",
                    "Campaign #%(id)s stopped: %(n)s messages not yet sent were cancelled.", cancelled),
                    id=campaign.pk, n=cancelled), messages.SUCCESS)

        return confirm_action(self, request, running, action="stop", title=_("Stop campaigns"),
                              question=_("Stop these campaigns? Messages already sent stay sent; the others are "
                                         "cancelled and no more recipients are added."),
                              confirm_label=_("Yes, stop them"), perform=perform)


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(ReadOnlyAdmin):
    def has_delete_permission(self, request, obj=None):
        return False  # a recipient row is what stops a rerun sending to the customer again

    list_display = ("campaign", "customer", "status", "notification_id", "pressed_at", "created_at")
    list_filter = ("status", "campaign")
    search_fields = ("customer__username", "=customer__telegram_id")
    list_select_related = ("campaign", "customer")
