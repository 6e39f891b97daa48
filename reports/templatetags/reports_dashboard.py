"""{% owner_dashboard %}: the owner's dashboard on the admin's front page (the thin caller of
reports.dashboard; nothing for a user without reports.view_reports)."""

from django import template
from django.utils import translation

from ..dashboard import dashboard_collect

register = template.Library()


@register.inclusion_tag("admin/reports/dashboard.html", takes_context=True)
def owner_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {"dashboard": None}
    return {"dashboard": dashboard_collect(user=user, language=translation.get_language() or "")}
