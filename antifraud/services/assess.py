"""The risk check the shop consults (registered with vpnbot.shop.risk): a ban freezes, the
whitelist trusts, an operator's decision on the case stands, otherwise the rules score the
subject and the case records the verdict."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vpnbot.shop import risk
from vpnbot.shop.models import Customer, Order, Payment

from .. import rules
from ..models import Ban, ReceiptPhoto, RiskCase, RiskDecision, Whitelist

RULES = "rules"


def action_for(score: int) -> str:
    if score >= settings.ANTIFRAUD_HOLD_SCORE:
        return risk.HOLD
    if score >= settings.ANTIFRAUD_FLAG_SCORE:
        return risk.FLAG
    return risk.ALLOW


STATUS = {risk.ALLOW: RiskCase.Status.ALLOWED, risk.FLAG: RiskCase.Status.FLAGGED, risk.HOLD: RiskCase.Status.HELD}


def _subject_id(subject: str, customer: Customer, facts: dict) -> int:
    if subject in ("payment", "online_payment"):
        return facts["payment"].pk
    if subject == "refund":
        return facts["order"].pk
    return customer.pk  # a referral reward (the invited customer's), a trial (the customer's)


def _amount(subject: str, facts: dict) -> int:
    if subject in ("payment", "online_payment"):
        return int(facts["payment"].amount or 0)
    return max(int(facts.get("amount") or 0), 0)


def active_ban(customer_id: int) -> Ban | None:
    return Ban.objects.filter(customer_id=customer_id, lifted_at__isnull=True).first()


def _standing_columns(connection) -> str:
    """The two questions asked about a customer before anything else: the active ban's reason
    (or NULL), and whether they are whitelisted; each a parameter: the customer's id."""
    quote = connection.ops.quote_name
    return (f"(SELECT b.{quote('reason')} FROM {quote(Ban._meta.db_table)} b WHERE b.{quote('customer_id')} = %s"
            f" AND b.{quote('lifted_at')} IS NULL ORDER BY b.{quote('id')} DESC LIMIT 1),"
            f" EXISTS(SELECT 1 FROM {quote(Whitelist._meta.db_table)} w WHERE w.{quote('customer_id')} = %s)")


def _standing(customer_id: int) -> tuple[str | None, bool]:
    """(the active ban's reason or None, whitelisted): one indexed statement. Asked on every
    payment, so it is SQL written once (the ORM spent more time building it than the database
    answering it)."""
    connection = connections[router.db_for_read(Ban)]
    sql = _STANDING.get(connection.vendor)
    if sql is None:
        sql = _STANDING[connection.vendor] = f"SELECT {_standing_columns(connection)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer_id, customer_id])
        reason, trusted = cursor.fetchone()
    return reason, bool(trusted)


def _db(model):
    return connections[router.db_for_read(model)]


def _standing_and_history(customer: Customer, payment: Payment, now) -> tuple[str | None, bool, dict]:
    """A receipt being submitted: the standing and the receipt rules' history in one statement."""
    connection = connections[router.db_for_read(Payment)]
    history = rules.receipt_history(customer, payment, now,
                                    also=(_standing_columns(connection), [customer.pk, customer.pk]))
    reason, trusted = history["also"]
    return reason, bool(trusted), history


_STANDING: dict[str, str] = {}


def _case_of(subject: str, subject_id: int) -> RiskCase | None:
    """The subject's case, if it has one (unique per subject): SQL written once, as above."""
    connection = connections[router.db_for_read(RiskCase)]
    sql = _CASE.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        sql = _CASE[connection.vendor] = (f"SELECT * FROM {quote(RiskCase._meta.db_table)}"
                                          f" WHERE {quote('subject')} = %s AND {quote('subject_id')} = %s")
    return next(iter(RiskCase.objects.raw(sql, [subject, subject_id])), None)


_CASE: dict[str, str] = {}


def risk_check(*, subject: str, customer: Customer | None, stage: str = "", **facts) -> risk.Verdict | None:
    """The shop's question: what do the rules say about this subject? (See vpnbot.shop.risk.)"""
    if not settings.ENABLE_ANTIFRAUD or customer is None:
        return None
    with translation.override(settings.LANGUAGE_CODE):  # reasons are kept as text, in the shop's language
        now, history, orders = timezone.now(), None, None
        if subject == "payment" and stage == "submit":
            ban_reason, trusted, history = _standing_and_history(customer, facts["payment"], now)
        elif subject == "online_payment" and stage == "confirm":
            orders = rules.recent_orders(customer.pk, now, also=(_standing_columns(_db(Order)), [customer.pk] * 2))
            ban_reason, trusted = orders["also"][0], bool(orders["also"][1])
        else:
            ban_reason, trusted = _standing(customer.pk)
        if ban_reason is not None:
            return risk.Verdict(action=risk.FREEZE, score=100, reasons=(
                _("the customer is banned: %(reason)s") % {"reason": ban_reason},))
        subject_id = _subject_id(subject, customer, facts)
        # a receipt being submitted has no case yet (it is made below); anything else may have one
        case = None if subject == "payment" and stage == "submit" else _case_of(subject, subject_id)
        if case is not None and (stage == "approve" or subject != "payment"):
            decided = _decided(case, facts.get("confirmed_by", ""))
            if decided is not None:
                return decided
        if stage == "approve" or trusted:
            return None
        enabled = rules.enabled_rules()
        hits = rules.evaluate(subject, customer, {**facts, "stage": stage, "history": history, "orders": orders}, enabled, now)
        if subject == "payment" and stage == "submit" and "duplicate_photo" in enabled:
            hit = duplicate_photo(enabled["duplicate_photo"], facts["payment"], customer)
            if hit is not None:
                hits.insert(0, hit)
        if not hits:
            return None
        case = case_record(subject=subject, subject_id=subject_id, customer=customer, hits=hits,
                           amount=_amount(subject, facts), facts=_facts(subject, facts))
        verdict = risk.Verdict(action=action_for(case.score), score=case.score, reasons=tuple(case.reasons),
                               case_id=case.pk)
        if subject == "refund" and facts.get("confirmed_by") and verdict.held:
            case_decide(case, status=RiskCase.Status.RELEASED, by=facts["confirmed_by"],
                        why=_("refunded on a second confirmation"))
            return risk.Verdict(risk.ALLOW, case.score, verdict.reasons, case.pk)
        return verdict


def _facts(subject: str, facts: dict) -> dict:
    kept = {}
    if subject == "referral":
        kept = {"order_id": facts["order"].pk, "referrer_id": facts.get("referrer_id")}
    elif subject == "refund":
        kept = {"order_id": facts["order"].pk, "mode": facts.get("mode", ""), "by": facts.get("by", "")}
    return kept


def _decided(case: RiskCase, confirmed_by: str) -> risk.Verdict | None:
    """What an operator's decision on the case says now, or None to score it again."""
    reasons = tuple(case.reasons or [])
    if case.status == RiskCase.Status.RELEASED:
        return risk.Verdict(risk.ALLOW, case.score, reasons, case.pk)
    if case.status in (RiskCase.Status.HELD, RiskCase.Status.CONFIRMED):
        if confirmed_by and case.subject in ("payment", "refund", "online_payment"):
            case_decide(case, status=RiskCase.Status.RELEASED, by=confirmed_by,
                        why=_("approved on a second confirmation"))
            return risk.Verdict(risk.ALLOW, case.score, reasons, case.pk)
        return risk.Verdict(risk.HOLD, case.score, reasons, case.pk)
    if case.status == RiskCase.Status.FLAGGED:
        return risk.Verdict(risk.FLAG, case.score, reasons, case.pk)
    return None


def case_record(*, subject: str, subject_id: int, customer: Customer, hits: list[rules.Hit], amount: int = 0,
                facts: dict | None = None, ceiling: str = RiskCase.Status.HELD) -> RiskCase:
    """Add hits to the subject's case (made on the first), its score the sum of the rules'
    scores (each rule once, at most 100); a new flag or hold is a decision by the rules, up to
    `ceiling` (flagged for money already paid: there is nothing left to hold). A case an
    operator decided keeps their decision."""
    with transaction.atomic():
        case, created = RiskCase.objects.select_for_update().get_or_create(
            subject=subject, subject_id=subject_id,
            defaults={"customer": customer, "amount": amount, "facts": facts or {}})
        fired = dict((case.facts or {}).get("rules", {}))
        reasons = list(case.reasons or [])
        for hit in hits:
            if hit.rule not in fired:
                fired[hit.rule] = hit.score
            if hit.reason not in reasons:
                reasons.append(hit.reason)
        case.score = min(sum(fired.values()), 100)
        case.reasons = reasons[:20]
        case.facts = {**(case.facts or {}), **(facts or {}), "rules": fired}
        before = case.status
        if case.status not in (RiskCase.Status.RELEASED, RiskCase.Status.CONFIRMED):
            status = STATUS[action_for(case.score)]
            if _STRENGTH[status] > _STRENGTH[ceiling]:
                status = ceiling
            if _STRENGTH[status] > _STRENGTH.get(case.status, 0):
                case.status = status
        case.save()
        if case.status != before or created and case.status != RiskCase.Status.ALLOWED:
            RiskDecision.objects.create(case=case, customer=customer, action=case.status, by=RULES,
                                        why="; ".join(case.reasons)[:500])
    return case


_STRENGTH = {RiskCase.Status.ALLOWED: 0, RiskCase.Status.FLAGGED: 1, RiskCase.Status.HELD: 2}


def case_decide(case: RiskCase, *, status: str, by: str, why: str) -> RiskCase:
    now = timezone.now()
    RiskCase.objects.filter(pk=case.pk).update(status=status, decided_by=by[:100], decided_at=now, decided_why=why[:500],
                                               updated_at=now)
    case.status, case.decided_by, case.decided_at, case.decided_why = status, by[:100], now, why[:500]
    RiskDecision.objects.create(case=case, customer_id=case.customer_id, action=status, by=by[:100], why=why[:500], at=now)
    return case


# --- the same receipt photo -------------------------------------------------------------------------

def duplicate_photo(rule: rules.Rule, payment: Payment, customer: Customer) -> rules.Hit | None:
    """The first receipt with this photo claims its unique id; a later one (whichever commits
    second when two arrive at once: the database's unique key decides) is a duplicate."""
    unique_id = payment.receipt_unique_id
    if not unique_id:
        return None
    if _claim_photo(unique_id, payment.pk, customer.pk):
        return None
    # a locking read sees the latest committed row, even under MariaDB's repeatable read
    first = ReceiptPhoto.objects.select_for_update().filter(unique_id=unique_id).first()
    if first is None:
        return None
    if first.customer_id == customer.pk:
        return rules.Hit(rule.key, rule.param("same_customer_score"),
                         _("same photo as this customer's payment #%(id)s") % {"id": first.payment_id})
    return rules.Hit(rule.key, rule.score,
                     _("same photo as payment #%(id)s by another customer") % {"id": first.payment_id})


_CLAIM = {
    "postgresql": "INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, %s) ON CONFLICT (unique_id) DO NOTHING",
    "mysql": "INSERT IGNORE INTO {table} ({cols}) VALUES (%s, %s, %s, %s)",
    "sqlite": "INSERT OR IGNORE INTO {table} ({cols}) VALUES (%s, %s, %s, %s)",
}


def _claim_photo(unique_id: str, payment_id: int, customer_id: int) -> bool:
    """Claim the photo's unique id for this payment: True when this statement wrote the row,
    False when another payment holds it. One statement that skips a taken key (no savepoint:
    this runs on every receipt); when two claim at once the database makes the second wait for
    the first to commit, then skips."""
    connection = connections[router.db_for_write(ReceiptPhoto)]
    sql = _CLAIM.get(connection.vendor)
    if sql is None:  # another database: the portable way, in a savepoint
        try:
            with transaction.atomic():
                ReceiptPhoto.objects.create(unique_id=unique_id, payment_id=payment_id, customer_id=customer_id)
            return True
        except IntegrityError:
            return False
    meta = ReceiptPhoto._meta
    columns = [meta.get_field(name).column for name in ("unique_id", "payment", "customer", "created_at")]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=quote(meta.db_table), cols=", ".join(map(quote, columns))),
                       [unique_id, payment_id, customer_id, connection.ops.adapt_datetimefield_value(timezone.now())])
        return cursor.rowcount == 1
