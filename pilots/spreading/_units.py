"""Units for ``template map``: a tag's unit (text or UN/CEFACT common code) against a role's unit.

Units are parsed with ``pint``; OPC UA servers often publish only the UN/CEFACT common code of
``EngineeringUnits`` (``CEL``, ``P1``, ``NU``), so those codes are read first. The comparison says whether
the units are the same, convertible (same dimension: ``°F`` → ``°C``, ``kN`` → ``N``) or not convertible
(``N·m`` vs ``%``), and gives the conversion when there is one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["UnitMatch", "compare_units", "parse_unit"]

# UN/CEFACT Recommendation 20 common codes seen on plant floors -> pint spelling
_UNECE: dict[str, str] = {
    "CEL": "degC", "FAH": "degF", "KEL": "kelvin", "P1": "percent", "SEC": "second", "MIN": "minute",
    "HUR": "hour", "NU": "newton * meter", "NEW": "newton", "B47": "kilonewton", "B73": "meganewton",
    "K40": "standard_gravity", "PAL": "pascal",
    "KPA": "kilopascal", "MPA": "megapascal", "BAR": "bar", "MBR": "millibar", "C16": "millimeter / second",
    "MTS": "meter / second", "RPM": "revolution / minute", "AMP": "ampere", "VLT": "volt", "KWT": "kilowatt",
    "WTT": "watt", "HTZ": "hertz", "MMT": "millimeter", "MTR": "meter", "4H": "micrometer", "DD": "degree",
    "KGM": "kilogram", "GRM": "gram", "LTR": "liter", "MQH": "meter ** 3 / hour",
    "MSK": "meter / second ** 2", "TNE": "tonne",
}
# text spellings pint does not know (Korean, typography, vendor habits) -> pint spelling
_TEXT: dict[str, str] = {
    "%": "percent", "％": "percent", "퍼센트": "percent", "pct": "percent", "%rh": "percent", "rh%": "percent",
    "℃": "degC", "°c": "degC", "degc": "degC", "도": "degC", "c": "degC", "°f": "degF", "℉": "degF",
    "rpm": "revolution / minute", "r/min": "revolution / minute", "min-1": "revolution / minute",
    "회전": "revolution / minute", "n·m": "newton * meter", "n.m": "newton * meter", "nm": "newton * meter",
    "n-m": "newton * meter", "kgf·m": "kilogram_force * meter", "초": "second", "분": "minute", "sec": "second",
    "개/㎥": "1 / meter ** 3", "개/m3": "1 / meter ** 3", "개/m³": "1 / meter ** 3", "/m³": "1 / meter ** 3",
    "/m3": "1 / meter ** 3", "ea/m3": "1 / meter ** 3", "pcs/m3": "1 / meter ** 3", "톤": "tonne", "ton": "tonne",
    "g": "standard_gravity", "ips": "inch / second", "in/s": "inch / second", "spm": "1 / minute",
    "㎜/s": "millimeter / second", "mm/sec": "millimeter / second", "µm": "micrometer", "μm": "micrometer",
    "㎛": "micrometer", "um": "micrometer",
}
_DIMENSION_NAMES: dict[str, str] = {
    "": "ratio", "[temperature]": "temperature", "[length] / [time]": "velocity",
    "[length] / [time] ** 2": "acceleration", "[mass] * [length] ** 2 / [time] ** 2": "torque/energy",
    "[mass] * [length] / [time] ** 2": "force", "[mass] / [length] / [time] ** 2": "pressure",
    "1 / [time]": "rate", "[time]": "time", "[current]": "current", "[length]": "length",
    "1 / [length] ** 3": "count per volume", "[mass]": "mass",
}


@functools.lru_cache(maxsize=1)
def _registry() -> Any:
    import pint

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


@functools.lru_cache(maxsize=512)
def parse_unit(text: str | None) -> Any | None:
    """A pint unit for a unit text or UN/CEFACT code, or ``None`` when unknown or empty."""
    if text is None or not text.strip():
        return None
    raw = unicodedata.normalize("NFKC", text.strip())
    spelled = _UNECE.get(text.strip().upper()) if re.fullmatch(r"[A-Z0-9]{2,3}", text.strip()) else None
    key = raw.lower().replace(" ", "")
    spelled = spelled or _TEXT.get(text.strip().lower()) or _TEXT.get(key) or raw.replace("·", "*").replace("²", "**2")
    ureg = _registry()
    try:
        return ureg.Unit(spelled)
    except Exception:  # pint raises several kinds (undefined unit, syntax); all mean "unknown to us"
        return None


def _dimension(unit: Any) -> str:
    key = str(unit.dimensionality) if str(unit.dimensionality) != "dimensionless" else ""
    return _DIMENSION_NAMES.get(key, key)


@dataclass(frozen=True)
class UnitMatch:
    """How a tag's unit relates to the role's: ``same``, ``convertible``, ``mismatch`` or ``unknown``."""

    kind: Literal["same", "convertible", "mismatch", "unknown"]
    reason: str
    factor: float | None = None   # role value = tag value * factor + offset
    offset: float = 0.0


def compare_units(role_unit: str | None, tag_unit: str | None) -> UnitMatch:
    want, have = parse_unit(role_unit), parse_unit(tag_unit)
    if role_unit and tag_unit and role_unit.strip().lower() == tag_unit.strip().lower():
        return UnitMatch("same", f"unit {tag_unit}", 1.0)
    if want is None or have is None:
        if role_unit and tag_unit:
            return UnitMatch("unknown", f"unit {tag_unit!r} vs role {role_unit!r}: not known to the unit library")
        if role_unit and not tag_unit:
            return UnitMatch("unknown", "the tag has no unit")
        return UnitMatch("unknown", "")
    if want == have:
        return UnitMatch("same", f"unit {tag_unit}", 1.0)
    if want.dimensionality != have.dimensionality:
        return UnitMatch("mismatch", f"unit {tag_unit} is {_dimension(have)}, the role wants {role_unit} "
                                     f"({_dimension(want)}): not convertible")
    ureg = _registry()
    zero = ureg.Quantity(0.0, have).to(want).magnitude
    one = ureg.Quantity(1.0, have).to(want).magnitude
    return UnitMatch("convertible", f"unit {tag_unit} converts to {role_unit}", one - zero, zero)
