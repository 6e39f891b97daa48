"""Saying yes to money: the registry of risk checks that the shop consults before it takes a
receipt, approves it, pays a referral reward, starts a trial or refunds an order.

The shop never imports the anti-fraud app: that app registers its checks here in its ready().
With no check registered every answer is ALLOW, score 0.

`risk_assess(subject=..., customer=..., stage=..., **facts)` asks every check and merges
their verdicts: the highest score, the strongest action, every reason. Subjects and stages:

- "payment" (a card receipt): stage "submit" (facts: payment) and "approve" (facts: payment,
  confirmed_by: the reviewer when they confirmed a held receipt a second time, else "");
- "referral" (a reward about to be paid: facts: order, referrer_id);
- "trial" (facts: none);
- "refund" (facts: order, amount, mode, by);
- "online_payment" (facts: payment: the payments app's row): stage "confirm" (paid at the
  provider, before it is credited: HOLD or FREEZE holds it for an admin) and "approve" (an
  admin credits a held one; confirmed_by: who, the second confirmation; FREEZE still refuses).

Actions, weakest first: ALLOW; FLAG (go on, an operator looks later); HOLD (the reward or the
trial is not granted now, a receipt needs a second confirmation); FREEZE (nothing moves at all,
not even on confirmation: the customer is banned; pending money waits, untouched).

A check runs inside the caller's transaction: what it records commits or rolls back with the
decision. A check must not raise for a normal "no"; an exception in a check is logged and
ignored (a broken rule never blocks a sale).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

log = logging.getLogger(__name__)

ALLOW, FLAG, HOLD, FREEZE = "allow", "flag", "hold", "freeze"
_STRENGTH = {ALLOW: 0, FLAG: 1, HOLD: 2, FREEZE: 3}
SUBJECTS = ("payment", "referral", "trial", "refund", "online_payment")


@dataclass(frozen=True)
class Verdict:
    action: str = ALLOW
    score: int = 0
    reasons: tuple[str, ...] = ()
    case_id: int | None = None  # the checker's record of this decision, when it keeps one
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def held(self) -> bool:
        return self.action in (HOLD, FREEZE)

    @property
    def frozen(self) -> bool:
        return self.action == FREEZE

    def reasons_text(self, sep: str = "; ") -> str:
        return sep.join(self.reasons)


_checks: list[Callable[..., Verdict | None]] = []


def register_risk_check(fn: Callable[..., Verdict | None]) -> None:
    """fn(*, subject, customer, stage, **facts) -> Verdict or None (nothing to say)."""
    if fn not in _checks:
        _checks.append(fn)


def unregister_risk_check(fn: Callable[..., Verdict | None]) -> None:
    if fn in _checks:
        _checks.remove(fn)


def risk_assess(*, subject: str, customer, stage: str = "", **facts) -> Verdict:
    assert subject in SUBJECTS, subject
    verdicts = []
    for check in list(_checks):
        try:
            # in a savepoint: a check that fails on the database (PostgreSQL then refuses every
            # further statement of the transaction) takes back only its own writes
            with transaction.atomic():
                verdict = check(subject=subject, customer=customer, stage=stage, **facts)
        except Exception:  # a broken rule never blocks a sale; it is in the log
            log.exception("risk check %s failed on %s/%s", getattr(check, "__name__", check), subject, stage)
            continue
        if verdict is not None:
            verdicts.append(verdict)
    if not verdicts:
        return Verdict()
    strongest = max(verdicts, key=lambda v: (_STRENGTH.get(v.action, 0), v.score))
    reasons: list[str] = []
    for verdict in verdicts:
        reasons += [r for r in verdict.reasons if r not in reasons]
    return Verdict(action=strongest.action, score=max(v.score for v in verdicts), reasons=tuple(reasons),
                   case_id=next((v.case_id for v in verdicts if v.case_id), None))
