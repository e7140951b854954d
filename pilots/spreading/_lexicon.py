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
    "robot": ("robot", "rb", "rob", "로봇"),
    "fault": ("fault", "flt", "err", "error", "고장", "에러", "오류", "이상"),
    "code": ("code", "cd", "no", "코드", "번호"),
    "reset": ("reset", "rst", "clear", "리셋", "해제"),
    "home": ("home", "homed", "origin", "원점"),
    "torque": ("torque", "trq", "tq", "토크"),
    "motor": ("motor", "mtr", "모터"),
    "joint": ("joint", "axis", "axes", "jnt", "축", "관절"),
    "cycle": ("cycle", "cyc", "사이클", "택트", "tact"),
    "time": ("time", "tm", "타임", "시간"),
    "particle": ("particle", "particles", "pc", "ptc", "입자", "파티클", "미립자"),
    "differential": ("differential", "dp", "diff", "차압"),
    "room": ("room", "cr", "실내", "룸", "클린룸"),
    "fan": ("fan", "팬", "송풍기"),
    "supply": ("supply", "sa", "급기"),
    "seal": ("seal", "sealer", "sealing", "jaw", "실링", "씰링", "실러"),
    "line": ("line", "ln", "라인"),
    "batch": ("batch", "배치"),
    "lot": ("lot", "로트"),
    "weld": ("weld", "wld", "용접"),
    "cabinet": ("cabinet", "cab", "제어반", "판넬"),
    "actual": ("actual", "act", "pv", "실제", "현재"),
    "command": ("command", "cmd", "지령"),
    "leak": ("leak", "lk", "리크", "누설"),
    "screw": ("screw", "nutrunner", "체결", "너트런너"),
    "life": ("life", "수명"),
    "grip": ("gripper", "grp", "그리퍼"),
    "filter": ("filter", "flt_dp", "필터"),
    "ante": ("ante", "anteroom", "전실"),
    "hvac": ("hvac", "ahu", "공조기", "공조"),
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


_AXIS_NUM = re.compile(
    r"(?:\b|_|(?<=[a-z]))(?:j|a|axis|joint|jnt)\s*_?(\d{1,2})(?=\b|_|[^0-9])|(\d{1,2})\s*(?:축|관절)", re.I)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:um|μm|µm|micron)", re.I)


def _numbers(text: str) -> set[str]:
    """Numbered things a name carries: an axis (``J2``, ``2축``, ``joint2``) or a particle size (``0.5um``)."""
    found = {f"axis#{int(a or b)}" for a, b in _AXIS_NUM.findall(text)}
    if found:
        found.add("joint")
    found |= {f"size#{float(m):g}" for m in _SIZE.findall(re.sub(r"(\d)_(\d)", r"\1.\2", text))}
    return found


def concepts(text: str) -> set[str]:
    """Concepts named in ``text`` (Korean and/or English, abbreviations, CamelCase or SNAKE_CASE)."""
    text = unicodedata.normalize("NFKC", text)
    found: set[str] = _numbers(text)
    for run in _HANGUL_RUN.findall(text):
        rest = run
        for word, concept in _HANGUL:
            if word in rest:
                found.add(concept)
                rest = rest.replace(word, " ")
    tokens = _ascii_tokens(_HANGUL_RUN.sub(" ", text))
    if "t" in tokens and any(t in ("cyc", "cycle", "ct") for t in tokens):
        tokens = [("time" if t == "t" else t) for t in tokens]  # CYC_T: cycle time, not a tool
    for tok in tokens:
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
