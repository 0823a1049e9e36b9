"""W3C Bitstring Status List v1.0: one bit per certificate, set when it is revoked or superseded,
published as a compressed list that wallets fetch once for thousands of credentials, so
nobody learns which certificate a verifier was checking.

Pure rules: where a certificate's bit lives, and how a list is encoded and read.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from dataclasses import dataclass

# The specification's minimum (16 KiB of bits): a list is big enough that one credential hides
# among many. Compressed, an almost empty list is a few hundred bytes.
LIST_SIZE = 131_072
# An odd multiplier permutes 0…2^17-1: neighbours in issuing order land far apart in the list,
# so a bit's position does not tell when (or after whom) a certificate was issued.
_SPREAD = 0x9E3779B1 % LIST_SIZE | 1
assert LIST_SIZE & (LIST_SIZE - 1) == 0, "the permutation needs a power of two"


@dataclass(frozen=True)
class StatusEntry:
    list_id: int
    index: int


def entry_for(sequence: int) -> StatusEntry:
    """The bit of the `sequence`-th certificate ever issued (1, 2, 3…): list 0 holds the first
    131,072, list 1 the next, and so on."""
    if sequence < 1:
        raise ValueError("status sequence numbers start at 1")
    list_id, offset = divmod(sequence - 1, LIST_SIZE)
    return StatusEntry(list_id=list_id, index=offset * _SPREAD % LIST_SIZE)


def encode(set_bits: Iterable[int], size: int = LIST_SIZE) -> str:
    """`encodedList`: the bitstring (bit 0 is the first byte's highest bit), GZIP-compressed,
    as multibase base64url without padding (`u…`)."""
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside a list of {size}")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same statuses give the same bytes.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def is_set(encoded_list: str, index: int) -> bool:
    """Reads one bit of an `encodedList`, as a wallet does."""
    if not encoded_list.startswith("u"):
        raise ValueError("an encodedList is multibase base64url, starting with 'u'")
    body = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside a list of {len(bits) * 8}")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
