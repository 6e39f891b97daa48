"""What the reports keep: each run of the reconciliation (the nightly job's and the command's),
so the admins are alerted once when it breaks and once when it is whole again."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReconciliationRun(models.Model):
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    seconds = models.FloatField(_("took (seconds)"), default=0)
    ok = models.BooleanField(_("reconciles"), default=True)
    problem_count = models.PositiveIntegerField(_("problems"), default=0)
    problems = models.JSONField(_("problems found"), default=list, blank=True,
                                help_text=_("Each check that failed, with up to 50 of its rows"))
    ledger_total_amount = models.BigIntegerField(_("ledger total"), default=0)
    balance_total_amount = models.BigIntegerField(_("balances total"), default=0)
    by = models.CharField(_("run by"), max_length=100, blank=True, help_text=_("nightly, a command, or a person"))

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-started_at"]
        # who may read the money: the dashboard's figures, /financial_report, the reports API, exports
        permissions = [("view_reports", _("Can view the financial reports"))]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'broken'}"


class ReportsLock(models.Model):
    """A row exists while a reports job runs (the nightly reconciliation): the primary key makes
    a second INSERT fail on every database, so an overlapping run skips. A crashed holder's row
    expires."""

    name = models.CharField(_("name"), max_length=40, primary_key=True)
    holder = models.CharField(_("held by"), max_length=200, blank=True)
    acquired_at = models.DateTimeField(_("taken at"))
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("reports lock")
        verbose_name_plural = _("reports locks")

    def __str__(self):
        return f"{self.name} ({self.holder})"
