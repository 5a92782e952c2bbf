"""The pure rules of revocation: the reasons a subscriber may give (never `unspecified`), the
危殆化の日時, the 24 h deadline, the queue order and the lookup's normalisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509

from app.revocation import rules
from app.revocation.form import check_lookup, normalise_identifier

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 12:00 in Japan


def test_a_subscriber_chooses_among_the_sbr_reasons_and_none_omits_the_reason_code() -> None:
    assert [value for value, _ in rules.reason_options()] == [
        "none",
        "keyCompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
    ]
    assert rules.flag_of("none") is None
    assert rules.flag_of("keyCompromise") is x509.ReasonFlags.key_compromise
    for refused in ("unspecified", "certificateHold", "cACompromise", "privilegeWithdrawn", ""):
        choice, errors = rules.check_choice({"reason": refused}, NOW)
        assert choice is None and "失効理由" in errors["reason"]
    choice, _ = rules.check_choice({"reason": "privilegeWithdrawn"}, NOW, operator=True)
    assert choice is not None and choice.reason is rules.Reason.PRIVILEGE_WITHDRAWN
    assert rules.reason_of_flag(None) == "none"
    assert rules.reason_of_flag(x509.ReasonFlags.superseded) == "superseded"


def test_the_compromise_time_is_japan_time_optional_and_never_in_the_future() -> None:
    choice, errors = rules.check_choice(
        {"reason": "keyCompromise", "invalidity_date": "2026-12-02T09:30"}, NOW
    )
    assert errors == {} and choice is not None
    assert choice.invalidity_date == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    full_width = rules.check_choice(
        {"reason": "keyCompromise", "invalidity_date": "２０２６－１２－０２Ｔ０９：３０"}, NOW
    )[0]
    assert full_width is not None and full_width.invalidity_date == choice.invalidity_date
    assert rules.check_choice({"reason": "keyCompromise"}, NOW)[0].invalidity_date is None  # type: ignore[union-attr]
    future = rules.check_choice(
        {"reason": "keyCompromise", "invalidity_date": "2026-12-02T13:00"}, NOW
    )
    assert future[0] is None and "未来" in future[1]["invalidity_date"]
    bad = rules.check_choice({"reason": "keyCompromise", "invalidity_date": "昨日"}, NOW)
    assert bad[0] is None and "2026-12-01T09:30" in bad[1]["invalidity_date"]
    impossible = rules.check_choice(
        {"reason": "keyCompromise", "invalidity_date": "2026-02-30T10:00"}, NOW
    )
    assert impossible[0] is None
    # Only key compromise carries the date: another reason ignores it.
    other = rules.check_choice(
        {"reason": "superseded", "invalidity_date": "2026-12-02T09:30"}, NOW
    )[0]
    assert other is not None and other.invalidity_date is None


def test_the_deadline_is_24_hours_and_nearing_is_said_in_text() -> None:
    due = rules.deadline(NOW)
    assert due - NOW == timedelta(hours=24)
    assert rules.urgency(due, NOW) == "ok" and rules.urgency_label("ok") == ""
    assert rules.urgency(due, due - timedelta(hours=5)) == "near"
    assert rules.urgency(due, due) == "overdue"
    assert (
        rules.urgency_label("near") == "期限間近" and rules.urgency_label("overdue") == "期限超過"
    )


def test_the_queue_puts_key_compromise_then_confirmed_then_the_earliest_deadline() -> None:
    rows = [
        ("a", "superseded", False, NOW),
        ("b", "superseded", True, NOW + timedelta(hours=2)),
        ("c", "keyCompromise", False, NOW + timedelta(hours=9)),
        ("d", "keyCompromise", True, NOW + timedelta(hours=10)),
        ("e", "none", True, NOW + timedelta(hours=1)),
    ]
    ordered = sorted(rows, key=lambda r: rules.queue_key(r[1], r[2], r[3]))
    assert [r[0] for r in ordered] == ["d", "c", "e", "b", "a"]


def test_the_lookup_takes_a_serial_in_any_usual_spelling_or_a_reference() -> None:
    assert normalise_identifier("3A:1F:09") == ("3a1f09", "")
    assert normalise_identifier(" 00 3a 1f ") == ("3a1f", "")
    assert normalise_identifier("0x3A1F") == ("3a1f", "")
    assert normalise_identifier("jc-7k3m-9qxp") == ("", "JC-7K3M-9QXP")
    assert normalise_identifier("ＪＣ－７Ｋ３Ｍ－９ＱＸＰ")[1] == "JC-7K3M-9QXP"
    assert normalise_identifier("hello") == ("", "")
    lookup, errors = check_lookup({"identifier": "3a:1f", "email": "Taro@Example.com"})
    assert errors == {} and lookup is not None and lookup.email == "taro@example.com"
    missing = check_lookup({"identifier": "", "email": ""})[1]
    assert set(missing) == {"identifier", "email"}
