"""Bitstring Status Lists: every certificate gets its own bit, and a list says exactly which
bits are set."""

from __future__ import annotations

import pytest

from services.certification import status_lists
from services.certification.status_lists import LIST_SIZE, StatusEntry, entry_for


def test_the_first_list_gives_every_certificate_a_bit_of_its_own() -> None:
    indexes = {entry_for(sequence).index for sequence in range(1, LIST_SIZE + 1)}
    assert len(indexes) == LIST_SIZE
    assert {entry_for(sequence).list_id for sequence in (1, LIST_SIZE)} == {0}


def test_certificates_after_the_first_list_fill_the_next_one() -> None:
    assert entry_for(LIST_SIZE + 1) == StatusEntry(list_id=1, index=0)
    assert entry_for(LIST_SIZE + 2).list_id == 1


def test_consecutive_certificates_do_not_sit_side_by_side() -> None:
    first, second = entry_for(2).index, entry_for(3).index
    assert abs(first - second) > 1000


def test_an_encoded_list_reads_back_exactly_the_bits_that_were_set() -> None:
    encoded = status_lists.encode([0, 7, 8, 130_000])
    assert encoded.startswith("u")
    assert [i for i in (0, 1, 7, 8, 9, 129_999, 130_000) if status_lists.is_set(encoded, i)] == [
        0,
        7,
        8,
        130_000,
    ]


def test_a_list_with_nothing_withdrawn_is_small_enough_to_fetch_often() -> None:
    assert len(status_lists.encode([])) < 200


def test_a_bit_outside_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        status_lists.encode([LIST_SIZE])
