"""When does a time zone stop changing its UTC offset? Read from the zone's TZif file (RFC 8536).

Converting local wall-clock times to UTC with ``pyarrow.compute.assume_timezone`` costs about a third of a
second per ten million values, because every value is looked up in the zone's rules. Most factories this
project serves are in zones that have not changed offset for decades (Asia/Seoul: last change 1988), and a
batch of export rows almost never straddles a change. ``fixed_since`` gives the instant (UTC seconds) after
which the zone's offset is constant, so a batch whose times all lie later can be shifted by one offset:
exact, and one subtraction per value.

Only the zone's own data is trusted: the last transition in the file and the POSIX TZ footer, which describes
the time after it. A footer with a daylight-saving rule (it contains a ``,``) means the offset keeps changing,
so the answer is None (no shortcut). No TZif file found (or an unreadable one) is also None. The offset
itself is still taken from Arrow, for one value, so the shortcut and the general path use the same database.
"""

from __future__ import annotations

import functools
import re
import struct
import zoneinfo
from importlib import resources
from pathlib import Path

_HEADER = struct.Struct(">4s c 15x 6l")


def _tzif(zone: str) -> bytes | None:
    if not zone or zone.startswith("/") or ".." in zone.split("/"):
        return None
    for root in zoneinfo.TZPATH:
        path = Path(root) / zone
        if path.is_file():
            return path.read_bytes()
    try:  # the tzdata package, where there is no system database (Windows)
        return resources.files("tzdata.zoneinfo").joinpath(*zone.split("/")).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError, OSError):
        return None


def _parse(data: bytes) -> float | None:
    """The last transition (UTC seconds, or -inf when there is none) if the offset never changes after it."""
    if len(data) < _HEADER.size:
        return None
    magic, version, isut, isstd, leap, timecnt, typecnt, charcnt = _HEADER.unpack_from(data, 0)
    if magic != b"TZif" or version == b"\0":  # version 1 files have no footer: the future is unknown
        return None
    start = _HEADER.size + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut  # skip the v1 block
    if len(data) < start + _HEADER.size:
        return None
    magic, _, isut, isstd, leap, timecnt, typecnt, charcnt = _HEADER.unpack_from(data, start)
    if magic != b"TZif":
        return None
    times_at = start + _HEADER.size
    footer_at = times_at + timecnt * 9 + typecnt * 6 + charcnt + leap * 12 + isstd + isut
    if len(data) < footer_at:
        return None
    footer = data[footer_at:].strip(b"\n")
    if not footer or b"," in footer:  # no rule for the future, or a daylight-saving rule
        return None
    if not timecnt:
        return float("-inf")
    return float(struct.unpack_from(">q", data, times_at + (timecnt - 1) * 8)[0])


@functools.lru_cache(maxsize=64)
def fixed_since(zone: str) -> float | None:
    """UTC seconds after which ``zone`` keeps one offset for ever (-inf: it always had one), or None."""
    if re.fullmatch(r"[+-]\d\d:?\d\d", zone):  # a fixed offset such as +09:00
        return float("-inf")
    data = _tzif(zone)
    return None if data is None else _parse(data)
