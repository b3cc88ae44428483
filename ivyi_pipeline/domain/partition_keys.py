"""Partition keys an analyst can search: the occurrence date, a dot, the occasion id.

A gift process is one occurrence of one occasion (unique `(occasion_id, occurrence_date)`), so
its key is `2027-03-11.occ-in-10`: typing the date or the occasion id into a search box finds
it, and keys sorted as text are sorted by occurrence date (the date has a fixed width and
comes first). The key is safe everywhere Dagster and its UI take keys: ASCII letters, digits,
`-`, `_`, one `.` after the date and `~` escapes, so never a comma or `|` (lists and
multi-partition keys), brackets or `...` (ranges), a slash, whitespace or a control character.

Any other character of an occasion id is written as `~<hex code point>~` (`occ,1` is
`occ~2c~1`, `é` is `~e9~`, `~` itself `~7e~`), so the key stays readable for the ids seen in
practice and unique for every id: encoding is injective and decoding accepts exactly the keys
encoding produces (canonical lower-case hex without leading zeros, no escape of a character
that needs none), so each process has one key and each key names at most one occurrence.
"""

import re
import string
from datetime import date

SEPARATOR = "."
ESCAPE = "~"
SAFE = frozenset(string.ascii_letters + string.digits + "-_")
KEY_CHARACTERS = SAFE | {SEPARATOR, ESCAPE}
DATE_WIDTH = len("2027-03-11")
_ESCAPED = re.compile(r"~([0-9a-f]+)~")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def encode_occasion_id(occasion_id: str) -> str:
    """The occasion id with every character outside [A-Za-z0-9_-] escaped as `~<hex>~`."""
    return "".join(c if c in SAFE else f"{ESCAPE}{ord(c):x}{ESCAPE}" for c in occasion_id)


def decode_occasion_id(text: str) -> str:
    """The occasion id `encode_occasion_id` wrote as `text`; ValueError for any other text."""
    decoded, at = [], 0
    while at < len(text):
        char = text[at]
        if char in SAFE:
            decoded.append(char)
            at += 1
            continue
        escaped = _ESCAPED.match(text, at) if char == ESCAPE else None
        if escaped is None:
            raise ValueError(f"{text!r} has {char!r} at {at}, outside [A-Za-z0-9_-] and not ~hex~")
        digits = escaped.group(1)
        code = int(digits, 16)
        if (len(digits) > 1 and digits.startswith("0")) or code > 0x10FFFF or chr(code) in SAFE:
            raise ValueError(f"{text!r} has a non-canonical escape ~{digits}~ at {at}")
        decoded.append(chr(code))
        at = escaped.end()
    return "".join(decoded)


def partition_key(occurrence_date: date, occasion_id: str) -> str:
    """The key of the process of one occurrence, e.g. `2027-03-11.occ-in-10`."""
    return f"{occurrence_date.isoformat()}{SEPARATOR}{encode_occasion_id(occasion_id)}"


def parse_partition_key(key: str) -> tuple[date, str]:
    """(occurrence date, occasion id) of a key `partition_key` made; ValueError otherwise."""
    day, separator, encoded = (
        key[:DATE_WIDTH],
        key[DATE_WIDTH : DATE_WIDTH + 1],
        key[DATE_WIDTH + 1 :],
    )
    if not _DATE.fullmatch(day) or separator != SEPARATOR:
        raise ValueError(f"{key!r} is not a process key: expected YYYY-MM-DD.<occasion id>")
    try:
        occurrence_date = date.fromisoformat(day)
    except ValueError as exc:
        raise ValueError(f"{key!r} is not a process key: {day} is not a date") from exc
    try:
        return occurrence_date, decode_occasion_id(encoded)
    except ValueError as exc:
        raise ValueError(f"{key!r} is not a process key: {exc}") from exc


def is_partition_key(key: str) -> bool:
    """True when `key` is a process key of this scheme."""
    try:
        parse_partition_key(key)
    except ValueError:
        return False
    return True
