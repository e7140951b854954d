"""The plant-naming lexicon behind ``template map``: concepts, Korean/English synonyms, abbreviations, units.

A tag name such as ``SPDL_VIB``, ``스핀들 진동값`` or ``SpindleVibration`` is reduced to a set of *concepts*
(``spindle``, ``vibration``); a role's description and aliases are reduced the same way, and the mapper
compares concept sets. Korean names are matched by substring (Korean tags rarely use spaces: ``주축진동``).
Units are normalised so notation differences (``㎜/s`` vs ``mm/s``, ``퍼센트`` vs ``%``, ``℃`` vs ``°C``) do
not count as different units, and mapped to a *dimension* so ``g`` and ``mm/s`` are known to differ.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["concepts", "normalize_unit", "unit_dimension"]

# concept -> spellings. ASCII spellings match whole tokens; Korean spellings match as substrings.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "spindle": ("spindle", "spdl", "spd", "sp", "s", "주축", "스핀들", "스핀", "메인축"),
    "vibration": ("vibration", "vib", "vibr", "vibe", "진동"),
    "temperature": ("temperature", "temp", "tmp", "tem", "온도"),
    "bearing": ("bearing", "brg", "베어링"),
    "feed": ("feed", "feedrate", "f", "fd", "이송", "피드"),
    "override": ("override", "ovr", "ov", "오버라이드", "ovrd"),
    "tool": ("tool", "t", "tl", "공구", "툴"),
    "wear": ("wear", "wr", "마모"),
    "door": ("door", "dr", "도어", "문", "안전문"),
    "open": ("open", "opened", "sw", "열림", "개방"),
    "lock": ("lock", "lck", "locked", "잠금"),
    "state": ("state", "status", "sts", "stat", "상태"),
    "mode": ("mode", "md", "모드"),
    "machine": ("machine", "mc", "mach", "cnc", "mct", "설비", "기계", "가공기"),
    "run": ("run", "running", "운전", "가동"),
    "speed": ("speed", "rpm", "회전수", "회전속도", "속도"),
    "load": ("load", "ld", "부하", "하중", "부하율"),
    "setpoint": ("setpoint", "sv", "set", "설정", "설정값"),
    "alarm": ("alarm", "alm", "알람", "경보"),
    "coolant": ("coolant", "clnt", "절삭유", "쿨런트"),
    "press": ("press", "prs", "프레스"),
    "oil": ("oil", "유압", "작동유", "오일"),
    "count": ("count", "cnt", "qty", "counter", "수량", "횟수", "카운트"),
    "pressure": ("pressure", "press_bar", "압력"),
    "current": ("current", "amp", "전류"),
    "power": ("power", "kw", "전력"),
    "humidity": ("humidity", "hum", "습도"),
    "scrap": ("scrap", "ng", "reject", "불량"),
    "good": ("good", "ok", "양품"),
}
_ASCII: dict[str, str] = {}
_HANGUL: list[tuple[str, str]] = []
for _concept, _words in _SYNONYMS.items():
    for _w in _words:
        if _w.isascii():
            _ASCII.setdefault(_w, _concept)
        else:
            _HANGUL.append((_w, _concept))
_HANGUL.sort(key=lambda p: -len(p[0]))  # longest first: 안전문 before 문
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^0-9a-zA-Z]+")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")

# tokens that are too short to trust when they appear alone inside long words
_SINGLE = {"s", "t", "f", "sp", "sw", "dr", "md", "ld", "wr", "ov", "mc", "fd", "tl", "set"}


def _ascii_tokens(text: str) -> list[str]:
    text = _CAMEL.sub(" ", text)
    return [t.lower() for t in _SPLIT.split(text) if t and not t.isdigit()]


def concepts(text: str) -> set[str]:
    """Concepts named in ``text`` (Korean and/or English, abbreviations, CamelCase or SNAKE_CASE)."""
    text = unicodedata.normalize("NFKC", text)
    found: set[str] = set()
    for run in _HANGUL_RUN.findall(text):
        rest = run
        for word, concept in _HANGUL:
            if word in rest:
                found.add(concept)
                rest = rest.replace(word, " ")
    for tok in _ascii_tokens(_HANGUL_RUN.sub(" ", text)):
        if tok in _ASCII:
            found.add(_ASCII[tok])
            continue
        # concatenated words ("spindlevib", "feedrate"): look for known long spellings inside
        for word, concept in _ASCII.items():
            if len(word) >= 4 and word not in _SINGLE and word in tok:
                found.add(concept)
    return found


_UNIT_ALIASES: dict[str, str] = {
    "퍼센트": "%", "percent": "%", "pct": "%", "％": "%",
    "℃": "°c", "degc": "°c", "deg c": "°c", "도": "°c", "c": "°c", "°c": "°c",
    "㎜/s": "mm/s", "mm/sec": "mm/s", "mm/s": "mm/s",
    "rpm": "rpm", "r/min": "rpm", "min-1": "rpm", "회전": "rpm",
    "kn": "kn", "ton": "t", "톤": "t",
    "g": "g", "m/s²": "m/s2", "m/s^2": "m/s2",
    "µm": "um", "μm": "um", "㎛": "um", "um": "um",
    "in/s": "in/s", "ips": "in/s",
}
_DIMENSION: dict[str, str] = {
    "%": "ratio", "°c": "temperature", "°f": "temperature", "k": "temperature",
    "mm/s": "velocity", "in/s": "velocity", "m/s": "velocity",
    "g": "acceleration", "m/s2": "acceleration", "um": "length", "mm": "length",
    "rpm": "rotation", "kn": "force", "t": "force", "bar": "pressure", "mpa": "pressure", "kpa": "pressure",
}


def normalize_unit(unit: str | None) -> str | None:
    """One spelling per unit: ``㎜/s`` → ``mm/s``, ``퍼센트`` → ``%``, ``℃`` → ``°c``; ``None`` stays ``None``."""
    if unit is None or not unit.strip():
        return None
    raw = unit.strip()
    key = raw.lower()
    if key in _UNIT_ALIASES:
        return _UNIT_ALIASES[key]
    norm = unicodedata.normalize("NFKC", raw).lower().replace(" ", "")
    return _UNIT_ALIASES.get(norm, norm)


def unit_dimension(unit: str | None) -> str | None:
    """Physical dimension of a (normalised) unit, or ``None`` when unknown."""
    norm = normalize_unit(unit)
    return _DIMENSION.get(norm) if norm else None
