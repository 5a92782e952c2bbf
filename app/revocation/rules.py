"""The rules of revocation, pure: which reasons who may give, the 危殆化の日時, the 24 h deadline
and the order of the LRA's queue."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cryptography import x509

from app.i18n import _

JST = ZoneInfo("Asia/Tokyo")
NEAR = timedelta(hours=6)  # a request due within this is marked 「期限間近」


class Reason(StrEnum):
    """RFC 5280 reason codes as the form sends them; NONE = no reason given (reasonCode is
    omitted, never written as `unspecified`)."""

    NONE = "none"
    KEY_COMPROMISE = "keyCompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"


# S/MIME BR 4.9.1.1 / 7.2.2: what a subscriber may choose.
SUBSCRIBER_REASONS = (
    Reason.NONE,
    Reason.KEY_COMPROMISE,
    Reason.AFFILIATION_CHANGED,
    Reason.SUPERSEDED,
    Reason.CESSATION_OF_OPERATION,
)
# The LRA may also withdraw the privilege (the subscriber broke the terms, or asked on paper).
OPERATOR_REASONS = (*SUBSCRIBER_REASONS, Reason.PRIVILEGE_WITHDRAWN)

FLAGS: dict[Reason, x509.ReasonFlags | None] = {
    Reason.NONE: None,
    Reason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    Reason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    Reason.SUPERSEDED: x509.ReasonFlags.superseded,
    Reason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    Reason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
}


def reason_label(reason: str) -> str:
    labels = {
        Reason.NONE: _("理由を選ばない"),
        Reason.KEY_COMPROMISE: _("秘密鍵の危殆化（鍵やPINの漏えい、盗難、紛失）"),
        Reason.AFFILIATION_CHANGED: _("所属・記載事項の変更"),
        Reason.SUPERSEDED: _("新しい証明書への切り替え"),
        Reason.CESSATION_OF_OPERATION: _("利用の終了"),
        Reason.PRIVILEGE_WITHDRAWN: _("利用資格の取り消し（LRAによる）"),
    }
    return labels.get(Reason(reason), reason) if reason in _VALUES else reason


_VALUES = frozenset(r.value for r in Reason)


def reason_options(operator: bool = False) -> list[tuple[str, str]]:
    return [
        (r.value, reason_label(r)) for r in (OPERATOR_REASONS if operator else SUBSCRIBER_REASONS)
    ]


def flag_of(reason: str) -> x509.ReasonFlags | None:
    """The CRL/OCSP reason of a stored reason (None: reasonCode omitted)."""
    return FLAGS[Reason(reason)]


def reason_of_flag(flag: x509.ReasonFlags | None) -> str:
    for reason, value in FLAGS.items():
        if value == flag:
            return reason.value
    return Reason.NONE.value


@dataclass(frozen=True)
class Choice:
    reason: Reason
    invalidity_date: datetime | None  # UTC; only with keyCompromise


_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})$")


def parse_local_time(text: str) -> datetime | None:
    """`YYYY-MM-DDTHH:MM` (an <input type=datetime-local>, Japan time) as UTC, or None."""
    match = _LOCAL.match(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    try:
        year, month, day, hour, minute = (int(part) for part in match.groups())
        local = datetime(year, month, day, hour, minute, tzinfo=JST)
    except ValueError:
        return None
    return local.astimezone(UTC)


def check_choice(
    values: dict[str, str],
    now: datetime,
    *,
    operator: bool = False,
) -> tuple[Choice | None, dict[str, str]]:
    """The reason (and for keyCompromise the optional 危殆化の日時) from a form: the choice, or
    Japanese messages by field. No reason given is a choice (reasonCode omitted)."""
    errors: dict[str, str] = {}
    raw = values.get("reason", "")
    allowed = OPERATOR_REASONS if operator else SUBSCRIBER_REASONS
    if raw not in {r.value for r in allowed}:
        errors["reason"] = _("失効理由を選んでください。")
        return None, errors
    reason = Reason(raw)
    moment: datetime | None = None
    text = values.get("invalidity_date", "").strip()
    if reason is Reason.KEY_COMPROMISE and text:
        moment = parse_local_time(text)
        if moment is None:
            errors["invalidity_date"] = _(
                "危殆化の日時は「2026-12-01T09:30」の形（日本時間）で入力してください。"
            )
        elif moment > now:
            errors["invalidity_date"] = _("危殆化の日時に未来の日時は入力できません。")
    if errors:
        return None, errors
    return Choice(reason, moment), {}


def deadline(received_at: datetime, hours: int = 24) -> datetime:
    """When a request must be decided (S/MIME BR 4.9.1: 24 hours)."""
    return received_at + timedelta(hours=hours)


def urgency(due: datetime, now: datetime) -> str:
    """`overdue`, `near` (within 6 hours) or `ok`: said in text in the queue, not by colour."""
    if now >= due:
        return "overdue"
    if due - now <= NEAR:
        return "near"
    return "ok"


def urgency_label(state: str) -> str:
    return {"overdue": _("期限超過"), "near": _("期限間近"), "ok": ""}.get(state, "")


def queue_key(reason: str, confirmed: bool, due: datetime) -> tuple[int, int, datetime]:
    """The order of the queue: key compromise first, then requests the subscriber confirmed,
    then the earliest deadline."""
    return (0 if reason == Reason.KEY_COMPROMISE else 1, 0 if confirmed else 1, due)


def jst(moment: datetime | None) -> str:
    """Japan time for pages and mail: 2026年12月02日 10:30."""
    if moment is None:
        return ""
    return moment.astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def local_input(moment: datetime | None) -> str:
    """A stored UTC time as an <input type=datetime-local> value in Japan time."""
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M") if moment else ""
