"""The web monitor's session cookie: signed with a secret derived from the admin key, valid
for twelve hours, and useless once tampered with, expired or the key rotated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.registration.ops_monitor.session import SessionSigner

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEY = "the-admin-key-1234"


def test_a_fresh_session_is_valid() -> None:
    signer = SessionSigner(KEY)
    assert signer.is_valid(signer.issue(NOW), NOW)


def test_a_session_never_contains_the_admin_key() -> None:
    token = SessionSigner(KEY).issue(NOW)
    assert KEY not in token
    assert "admin" not in token


def test_a_session_expires_after_twelve_hours() -> None:
    signer = SessionSigner(KEY)
    token = signer.issue(NOW)
    assert signer.is_valid(token, NOW + timedelta(hours=11, minutes=59))
    assert not signer.is_valid(token, NOW + timedelta(hours=12))


def test_every_session_is_different() -> None:
    signer = SessionSigner(KEY)
    assert signer.issue(NOW) != signer.issue(NOW)


def test_a_session_with_a_later_expiry_written_in_is_refused() -> None:
    signer = SessionSigner(KEY)
    version, expires, nonce, signature = signer.issue(NOW).split(".")
    stretched = f"{version}.{int(expires) + 86400}.{nonce}.{signature}"
    assert not signer.is_valid(stretched, NOW)


def test_a_session_with_a_changed_signature_or_nonce_is_refused() -> None:
    signer = SessionSigner(KEY)
    version, expires, nonce, signature = signer.issue(NOW).split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert not signer.is_valid(f"{version}.{expires}.{nonce}.{flipped}", NOW)
    assert not signer.is_valid(f"{version}.{expires}.{nonce}x.{signature}", NOW)


def test_rotating_the_admin_key_ends_every_session() -> None:
    token = SessionSigner(KEY).issue(NOW)
    assert not SessionSigner("a-new-admin-key").is_valid(token, NOW)


def test_garbage_is_not_a_session() -> None:
    signer = SessionSigner(KEY)
    for token in ("", "v1", "v1...", "v2.1.2.3", "v1.soon.nonce.sig", KEY, "....."):
        assert not signer.is_valid(token, NOW), token
