"""Admin texts of third-party apps that their own Persian catalogs lack (django-axes 8.3).
Marked here so that makemessages keeps them in the core's catalog; Django merges every app's
catalog into one, so the operator reads them in Persian too. A text the third-party catalog
does translate keeps that translation (apps listed earlier in INSTALLED_APPS win). Column
titles that a third-party admin derives from a method's name (axes' "Status", celery beat's
"Scheduler") are not gettext msgids and cannot be translated from here."""

from django.utils.translation import gettext_noop

THIRD_PARTY_ADMIN_TEXTS = (
    gettext_noop("Clean up expired attempts"),  # axes: AccessAttemptAdmin's action
    gettext_noop("access attempt expiration"),  # axes: AccessAttemptExpiration's verbose_name
)
