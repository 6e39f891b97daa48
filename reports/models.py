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


class RollupDay(models.Model):
    """One closed local day whose figures are kept (DailyFigure, DailyBuyers), so a report of a
    month sums ~30 rows per figure instead of reading every order and ledger row again. Written by
    the nightly job (reports_rollup); a day is only ever rolled up once it has ended, and only for
    the time zone it was cut in (a changed TIME_ZONE makes the old rows unused)."""

    zone = models.CharField(_("time zone"), max_length=64)
    day = models.DateField(_("day"))
    version = models.PositiveSmallIntegerField(_("version"), default=1,
                                               help_text=_("What the day holds; a day of another version is kept again"))
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)
    ledger_rows = models.PositiveBigIntegerField(_("ledger rows"), default=0)
    ledger_total_amount = models.BigIntegerField(_("ledger total"), default=0)

    class Meta:
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["zone", "day"], name="reports_rollup_zone_day")]

    def __str__(self):
        return f"{self.day} ({self.zone})"


class DailyFigure(models.Model):
    """A figure of a rolled-up day: a metric (orders, gross, discount, discount_kind, ledger,
    joined), its key (a discount's kind; a ledger row's reason:method:refund kind) and its sum
    and count. docs/reports.md lists them."""

    rollup = models.ForeignKey(RollupDay, on_delete=models.CASCADE, related_name="figures", verbose_name=_("day"))
    metric = models.CharField(_("figure"), max_length=24)
    key = models.CharField(_("key"), max_length=64, blank=True)
    amount = models.BigIntegerField(_("amount"), default=0)
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        constraints = [models.UniqueConstraint(fields=["rollup", "metric", "key"], name="reports_figure_unique")]

    def __str__(self):
        return f"{self.metric}[{self.key}] {self.amount}/{self.count}"


class DailyBuyers(models.Model):
    """How many customers bought on a rolled-up day, by the last earlier day they had bought on
    (empty: never before). Distinct buyers of any run of days [a, b] are then the buyers of each
    day whose previous day is before a, and new buyers those with none: exact, from a few rows."""

    rollup = models.ForeignKey(RollupDay, on_delete=models.CASCADE, related_name="buyers", verbose_name=_("day"))
    previous_day = models.DateField(_("bought before on"), null=True, blank=True)
    buyers = models.PositiveIntegerField(_("buyers"), default=0)

    class Meta:
        verbose_name = _("buyers of a day")
        verbose_name_plural = _("buyers of a day")
        indexes = [models.Index(fields=["rollup", "previous_day"], name="reports_buyers_rollup_prev")]

    def __str__(self):
        return f"{self.buyers} (before: {self.previous_day or '-'})"


class CohortMonth(models.Model):
    """A closed calendar month (Jalali or Gregorian) whose cohort cells are kept: per month the
    customers joined in (the cohort), what they paid in this month and how many of them bought.
    Refunds are subtracted when the table is read (a refund can come months later)."""

    zone = models.CharField(_("time zone"), max_length=64)
    calendar = models.CharField(_("calendar"), max_length=10)
    month = models.DateField(_("month (its first day)"))
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("rolled-up month of the cohorts")
        verbose_name_plural = _("rolled-up months of the cohorts")
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["zone", "calendar", "month"], name="reports_cohort_month")]

    def __str__(self):
        return f"{self.month} {self.calendar} ({self.zone})"


class CohortCell(models.Model):
    kept = models.ForeignKey(CohortMonth, on_delete=models.CASCADE, related_name="cells", verbose_name=_("month"))
    cohort = models.DateField(_("cohort (first day of the month joined)"))
    paid_amount = models.BigIntegerField(_("paid"), default=0)
    buyers = models.PositiveIntegerField(_("buyers"), default=0)

    class Meta:
        verbose_name = _("cohort cell")
        verbose_name_plural = _("cohort cells")
        constraints = [models.UniqueConstraint(fields=["kept", "cohort"], name="reports_cohort_cell")]

    def __str__(self):
        return f"{self.cohort}: {self.paid_amount} / {self.buyers}"
