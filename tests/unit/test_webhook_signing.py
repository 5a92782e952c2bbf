"""The JCAN-Signature scheme and the event body: pure functions, no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.issuance.webhooks.delivery import backoff
from app.issuance.webhooks.service import certificate_data, event_body
from app.issuance.webhooks.signing import signature, signature_header, verify_signature

BODY = '{"id":"01J","type":"certificate.issued"}'
T = 1_800_000_000


def test_the_header_is_t_and_v1_over_timestamp_dot_body():
    header = signature_header("whsec", BODY, T)
    assert header == f"t={T},v1={signature('whsec', T, BODY)}"
    # The HMAC is over "<t>.<body>", as a receiver in any language computes it.
    import hashlib
    import hmac

    expected = hmac.new(b"whsec", f"{T}.{BODY}".encode(), hashlib.sha256).hexdigest()
    assert header.endswith(f"v1={expected}")


def test_a_good_signature_verifies_within_the_tolerance_window():
    header = signature_header("whsec", BODY, T)
    assert verify_signature("whsec", header, BODY, now=T)
    assert verify_signature("whsec", header, BODY.encode(), now=T + 300)
    assert verify_signature("whsec", header, BODY, now=T - 300)
    assert not verify_signature("whsec", header, BODY, now=T + 301)
    assert not verify_signature("whsec", header, BODY, now=T - 301)
    assert verify_signature("whsec", header, BODY, tolerance=600, now=T + 599)


def test_wrong_secret_changed_body_and_malformed_headers_are_refused():
    header = signature_header("whsec", BODY, T)
    assert not verify_signature("other", header, BODY, now=T)
    assert not verify_signature("whsec", header, BODY + " ", now=T)
    assert not verify_signature("", header, BODY, now=T)
    for bad in (
        None,
        "",
        "v1=abc",
        f"t={T}",
        f"t=soon,v1={signature('whsec', T, BODY)}",
        "garbage",
    ):
        assert not verify_signature("whsec", bad, BODY, now=T)
    # A second v1 (the receiver rotating secrets) is accepted when one matches.
    rotated = f"t={T},v1={'0' * 64},v1={signature('whsec', T, BODY)}"
    assert verify_signature("whsec", rotated, BODY, now=T)


def test_the_body_carries_id_type_created_and_the_certificate_data():
    data = certificate_data(
        serial="7f3a",
        subject={"CN": "YAMADA TARO", "O": "ISC", "C": "JP"},
        not_before=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        not_after=datetime(2027, 12, 1, 15, 0, tzinfo=UTC),
        pem="-----BEGIN CERTIFICATE-----\n...",
        company_code="ISC",
        reference="01JREF",
    )
    text = event_body(
        "01JEVENT", "certificate.issued", data, datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)
    )
    body = json.loads(text)
    assert body["id"] == "01JEVENT" and body["type"] == "certificate.issued"
    assert body["created"] == "2026-12-02T01:02:03Z"
    assert body["data"]["validity"] == {
        "not_before": "2026-12-01T15:00:00Z",
        "not_after": "2027-12-01T15:00:00Z",
    }
    assert set(body["data"]) == {
        "serial",
        "subject",
        "validity",
        "pem",
        "company_code",
        "reference",
    }


def test_backoff_doubles_and_is_capped_at_an_hour():
    assert [backoff(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30, 30) == 3600


def test_the_console_shows_the_receiver_without_credentials():
    from app.issuance.webhooks.controller import shown_url

    assert shown_url("https://user:pw@econtract.example.jp:8443/hooks?key=s3") == (
        "https://econtract.example.jp:8443/hooks"
    )
    assert shown_url("http://econtract.example.jp/in") == "http://econtract.example.jp/in"
