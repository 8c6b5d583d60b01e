"""Chevereto's public ID codec (docs/chevereto-compatibility.md §5.4).

Image and album ids travel as short base-62 strings whose digit alphabet is a
permutation derived from the install's ``crypt_salt``.  The salt and the
``id_padding`` multiplier are configurable so that ids minted by an existing
Chevereto install keep resolving after an import.

Arithmetic here is exact integer arithmetic.  PHP does the same sums in floats,
so the two agree for every value below 2**53 (image ids times the padding stay
far below that); beyond it PHP is lossy and there is nothing worth copying.
"""

from __future__ import annotations

import hashlib

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BASE = len(ALPHABET)


def _salted_index(salt: str) -> str:
    """The alphabet reordered by the salt's SHA-256 hex digits.

    PHP's ``array_multisort($p, SORT_DESC, $i)`` sorts by hash digit
    descending and breaks ties by alphabet character ascending; both keys are
    single ASCII characters, so byte order is the comparison.  Only the first
    62 of the 64 hex digits take part.
    """
    digest = hashlib.sha256(salt.encode("utf-8")).hexdigest()
    pairs = sorted(zip(digest, ALPHABET, strict=False), key=lambda pair: (-ord(pair[0]), pair[1]))
    return "".join(char for _, char in pairs)


class IdCodec:
    """Encodes positive integer ids to Chevereto id strings and back."""

    def __init__(self, salt: str, padding: int) -> None:
        self.index = _salted_index(salt)
        # Chevereto treats any non-positive padding as "no padding".
        self.padding = padding if padding > 0 else 0
        self._digit_of = {char: value for value, char in enumerate(self.index.encode("ascii"))}

    def encode(self, n: int) -> str:
        """The id string of ``n``; ``""`` for ``n <= 0``, as PHP's log() loop yields."""
        value = n * self.padding if self.padding else n
        if value <= 0:
            return ""
        digits: list[str] = []
        while value:
            value, digit = divmod(value, BASE)
            digits.append(self.index[digit])
        return "".join(reversed(digits))

    def decode(self, s: str) -> int:
        """The integer behind ``s``.  Never raises.

        Unknown characters count as digit 0 because PHP's ``strpos`` returns
        false, which multiplies as 0.  PHP walks bytes, not characters, so a
        non-ASCII character contributes one zero digit per UTF-8 byte.
        """
        value = 0
        for byte in s.encode("utf-8"):
            value = value * BASE + self._digit_of.get(byte, 0)
        return value // self.padding if self.padding else value


# Row ids are 32-bit signed integers in every supported database; a decoded id
# outside this range names nothing (and must never reach a query).
MAX_ROW_ID = 2**31 - 1


def row_id(codec: IdCodec, encoded: str) -> int | None:
    """The row id an encoded id names, or None when it cannot name a row."""
    value = codec.decode(encoded) if encoded else 0
    return value if 0 < value <= MAX_ROW_ID else None
