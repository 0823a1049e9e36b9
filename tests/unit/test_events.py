import json

import pytest
from pydantic import ValidationError

from shared.events import (
    EVENT_TYPES,
    CertificateIssuedV1,
    Envelope,
    NotificationSentV1,
    PartnerKeyIssuedV1,
    new_event,
    to_json,
)
from tests.unit.samples import issued


def test_an_event_round_trips_through_json_as_a_cloudevent() -> None:
    event = new_event(
        PartnerKeyIssuedV1(partner_id="p", key_id="k", key_hash="h"),
        source="attesta/registration",
        subject="p",
    )
    raw = json.loads(to_json(event))
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "attesta.partner.key_issued.v1"
    assert Envelope[PartnerKeyIssuedV1].model_validate(raw) == event


def test_an_event_of_another_type_is_refused_by_a_typed_reader() -> None:
    event = new_event(
        PartnerKeyIssuedV1(partner_id="p", key_id="k", key_hash="h"), source="s", subject="p"
    )
    raw = json.loads(to_json(event))
    raw["data"] |= {
        "enrolment_id": "e",
        "certificate_number": "n",
        "to": "t",
        "sent_at": "2024-01-01T00:00:00Z",
    }
    with pytest.raises(ValidationError, match="does not match payload"):
        Envelope[NotificationSentV1].model_validate(raw)


def test_every_event_type_is_versioned_and_registered_once() -> None:
    assert all(
        name.startswith("attesta.") and name.rsplit(".", 1)[1].startswith("v")
        for name in EVENT_TYPES
    )
    assert EVENT_TYPES[CertificateIssuedV1.EVENT_TYPE] is CertificateIssuedV1


def test_the_certificate_pdf_travels_inside_the_issued_event() -> None:
    event = issued(pdf=b"%PDF-\x00\xff binary")
    again = CertificateIssuedV1.model_validate_json(event.model_dump_json())
    assert again.pdf() == b"%PDF-\x00\xff binary"
