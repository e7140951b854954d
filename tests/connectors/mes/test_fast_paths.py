"""The validator's shortcuts give exactly what the general kernels give (they only skip work)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factorypilot.connectors.mes._shifts import distinct as _distinct
from factorypilot.connectors.mes._validate import _cast, _clean, _may_be_padded, _to_utc
from factorypilot.connectors.mes._zones import _parse, fixed_since
from factorypilot.connectors.mes.config import MappingConfig


def _trimmed_by_arrow() -> list[str]:
    """Every code point Arrow's utf8_trim_whitespace removes, found by asking Arrow about all of them."""
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    arr = pa.array([chr(c) + "a" for c in cps])
    shorter = np.asarray(pc.binary_length(pc.utf8_trim_whitespace(arr))) != np.asarray(pc.binary_length(arr))
    return [chr(cps[i]) for i in np.flatnonzero(shorter)]


def test_padding_check_sees_every_character_arrow_trims() -> None:
    spaces = _trimmed_by_arrow()
    assert "\u3000" in spaces
    assert " " in spaces
    assert "\xa0" in spaces
    for ch in spaces:
        assert _may_be_padded(pa.array(["설비", ch + "CNC-01"])), repr(ch)
        assert _may_be_padded(pa.array(["CNC-01" + ch, "설비"])), repr(ch)


def test_unpadded_korean_and_ascii_columns_skip_the_trim() -> None:
    assert not _may_be_padded(pa.array(["브래킷-3", "CNC-01", "LOT-7", None, ""]))
    assert not _may_be_padded(pa.array([None, None], pa.string()))
    assert not _may_be_padded(pa.array(["ａｂ", "가나다"]).slice(1))  # fullwidth letters are not spaces


@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=30), st.integers(0, 5))
def test_clean_equals_trim_then_empty_to_null(values: list[str | None], offset: int) -> None:
    arr = pa.array(values, pa.string()).slice(min(offset, len(values)))
    expected = [None if v is None or not v.strip(_SPACES) else v.strip(_SPACES) for v in arr.to_pylist()]
    assert _clean(arr).to_pylist() == expected


_SPACES = "".join(_trimmed_by_arrow())


def test_zone_data() -> None:
    assert fixed_since("UTC") == float("-inf")
    seoul = fixed_since("Asia/Seoul")
    assert seoul is not None
    assert datetime(1988, 1, 1).timestamp() < seoul < datetime(1989, 1, 1).timestamp()
    assert fixed_since("Europe/Berlin") is None  # daylight saving every year
    assert fixed_since("+09:00") == float("-inf")
    assert fixed_since("No/Such_Zone") is None
    assert fixed_since("../../etc/passwd") is None
    assert _parse(b"TZif") is None
    assert _parse(b"not a zone file" * 10) is None


@pytest.mark.parametrize("zone", ["Asia/Seoul", "Europe/Berlin", "America/Sao_Paulo", "UTC", "Asia/Kolkata"])
@given(start=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2060, 1, 1)),
       steps=st.lists(st.integers(0, 10**7), min_size=1, max_size=40))
def test_to_utc_matches_arrow_rules(zone: str, start: datetime, steps: list[int]) -> None:
    """Shortcut or not, the UTC instants are Arrow's (including around old and future transitions)."""
    times = [start + timedelta(seconds=s) for s in steps]
    naive = pa.array(times, pa.timestamp("s"))
    expected = pc.assume_timezone(naive, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    assert _to_utc(naive, zone).cast(pa.int64()).to_pylist() == expected.cast(pa.int64()).to_pylist()


@given(st.lists(st.tuples(st.integers(-3, 3) | st.integers(-10**6, 10**6), st.booleans()), max_size=60))
def test_distinct_days_match_numpy_unique(pairs: list[tuple[int, bool]]) -> None:
    day = np.array([d for d, _ in pairs], dtype=np.int64)
    valid = np.array([v for _, v in pairs], dtype=bool)
    days, pos = _distinct(day, valid)
    expected = np.unique(day[valid])
    assert days.tolist() == expected.tolist()
    assert days[pos[valid]].tolist() == day[valid].tolist()


@given(st.lists(st.one_of(st.none(), st.sampled_from(["0", "12", "007", "+5", "12.0", "1,200", "-3", "열둘",
                                                       "1e3", "", " 9 ", "99999999999999999999"])), max_size=20))
def test_int_cells(values: list[str | None]) -> None:
    """Integer cells: what Python's int() accepts after trimming, dropping thousands separators and a '.0'."""
    def expect(v: str | None) -> int | None:
        if v is None or not v.strip():
            return None
        text = v.strip().replace(",", "").removesuffix(".0")
        try:
            number = int(text)
        except ValueError:
            return None
        return number if len(text.lstrip("+-")) <= 18 else None

    got = _cast(_clean(pa.array(values, pa.string())), "int", "good", MappingConfig(kind="production"))
    assert got.to_pylist() == [expect(v) for v in values]
