"""A firm profile as a growth supporter writes it (YAML or JSON, Korean or English), read forgivingly.

Unknown keys are **warnings** that name them (a supporter's extra field must not block a match); wrong types are
one :class:`~factorypilot.errors.ConfigError` that names every bad path. The first profile format (``name``,
``sector``, ``lang``, ``data_sources: [text]``) is converted with a warning that says how to write it now.
``factorypilot match --schema`` prints the JSON Schema (also in ``docs/firm-profile.schema.json``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from factorypilot.errors import ConfigError

__all__ = ["Company", "DataSources", "Equipment", "FirmProfile", "MesSource", "OpcUaSource", "load_profile",
           "parse_profile", "profile_schema"]

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LETTER = re.compile(r"[A-Za-z\uac00-\ud7a3]")


def _as_list(v: Any) -> Any:
    """A single text where a list of texts is expected is taken as a one-item list."""
    return [v] if isinstance(v, str) else v


class _Open(BaseModel):
    """Extra keys are kept (and warned about by :func:`parse_profile`), never refused."""

    model_config = ConfigDict(extra="allow")


class Company(_Open):
    name: str | None = Field(default=None, description="회사명 / company name")
    name_en: str | None = Field(default=None, description="English name")
    location: str | None = None
    employees: int | str | None = Field(default=None, description="number of employees (or a text like '약 40명')")


class Equipment(_Open):
    type: str = Field(description="what it is: 'CNC 선반', 'arc welding robot', 'ISO 7 cleanroom'")
    count: int | str | None = None
    maker: str | None = None
    notes: str | None = None

    def text(self) -> str:
        return " ".join(str(p) for p in (self.type, self.maker, self.notes) if p)


class OpcUaSource(_Open):
    available: bool | None = Field(default=None, description="true / false; leave empty if unknown")
    endpoint: str | None = None
    notes: str | None = None


class MesSource(_Open):
    vendor: str | None = None
    export_formats: list[str] = Field(default_factory=list, description="csv, xlsx, xml (B2MML) ...")

    _lists = field_validator("export_formats", mode="before")(_as_list)


class DataSources(_Open):
    opcua: OpcUaSource | None = None
    mes: MesSource | None = None
    other: list[str] = Field(default_factory=list, description="anything else, as text")

    _lists = field_validator("other", mode="before")(_as_list)


class FirmProfile(_Open):
    """One firm, as the programme's growth supporters describe it."""

    id: str | None = Field(default=None, description="short id; default: the file name")
    language: Literal["ko", "en"] | None = Field(default=None, description="ko or en; default: detected")
    company: Company = Field(default_factory=Company)
    sector_hint: str | None = Field(default=None, description="free text: '자동차 부품', 'medical devices'")
    products: list[str] = Field(default_factory=list)
    equipment: list[str | Equipment] = Field(
        default_factory=list, description="plain text ('CNC 선반 12대') or {type, count, maker, notes}")
    data_sources: DataSources = Field(default_factory=DataSources)
    goals: list[str] = Field(default_factory=list, description="what the firm wants, one sentence each")
    constraints: list[str] = Field(default_factory=list, description="what must not happen / cannot be done")
    notes: str | None = None

    _lists = field_validator("products", "equipment", "goals", "constraints", mode="before")(_as_list)

    @property
    def lang(self) -> str:
        """The profile's language: ``language`` if given, else detected from the goals and constraints."""
        if self.language:
            return self.language
        text = " ".join([*self.goals, *self.constraints, self.sector_hint or ""])
        letters = _LETTER.findall(text)
        return "ko" if letters and len(_HANGUL.findall(text)) / len(letters) > 0.3 else "en"

    @property
    def name(self) -> str:
        c = self.company
        return (c.name_en if self.lang == "en" and c.name_en else c.name) or c.name_en or self.id or "?"

    def equipment_texts(self) -> list[str]:
        return [e if isinstance(e, str) else e.text() for e in self.equipment]


def profile_schema() -> dict[str, Any]:
    """The JSON Schema of a firm profile (unknown keys allowed: they are warned about, not refused)."""
    schema = FirmProfile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "factorypilot firm profile"
    return schema


_OLD_KEYS = {"name", "sector", "lang"}


def _migrate(data: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """The first profile format (name/sector/lang, data_sources as a list of text) in today's shape."""
    old = sorted(_OLD_KEYS & data.keys())
    sources = data.get("data_sources")
    if not old and not isinstance(sources, list):
        return data
    data = dict(data)
    if "name" in data and "company" not in data:
        data["company"] = {"name": data.pop("name")}
    if "sector" in data and "sector_hint" not in data:
        data["sector_hint"] = data.pop("sector")
    if "lang" in data and "language" not in data:
        data["language"] = data.pop("lang")
    if isinstance(sources, list):
        texts = [str(s) for s in sources]
        has_opc = any(re.search(r"opc", t, re.I) for t in texts)
        mes = [t for t in texts if re.search(r"mes|csv|xlsx|excel|엑셀|b2mml|xml", t, re.I)]
        new: dict[str, Any] = {"other": [t for t in texts if t not in mes and not re.search(r"opc", t, re.I)]}
        if has_opc:
            new["opcua"] = {"available": True}
        if mes:
            new["mes"] = {"vendor": ", ".join(mes)}
        data["data_sources"] = new
        old.append("data_sources (list)")
    warnings.append(f"old profile format converted (예전 형식을 변환함) ({', '.join(old)}): "
                    "write company: {name: ...}, sector_hint, language and "
                    "data_sources: {opcua: {available: true}, mes: {...}} "
                    "(factorypilot match --example)")
    return data


def _extras(model: BaseModel, path: str) -> list[str]:
    out = [f"{path}{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                sub = f"{path}{name}[{i}]." if isinstance(value, list) else f"{path}{name}."
                out += _extras(item, sub)
    return out


_UNION_TAGS = {"str", "int", "bool", "float", "none", "Equipment"}
_EXPECTED = {
    "equipment": "text, or an object {type, count, maker, notes}",
    "goals": "a list of sentences", "constraints": "a list of sentences", "products": "a list of text",
    "data_sources": "an object {opcua: {...}, mes: {...}, other: [...]}", "company": "an object {name, ...}",
}


def _problems(exc: ValidationError) -> list[str]:
    """One line per bad path; union branches (text | object) collapse into one 'expected' line."""
    seen: dict[str, str] = {}
    for err in exc.errors():
        parts: list[str] = []
        for p in err["loc"]:
            if isinstance(p, int):
                parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
            elif p in _UNION_TAGS or "[" in str(p):
                continue
            else:
                parts.append(str(p))
        path = ".".join(parts) or "(root)"
        top = parts[0].split("[")[0] if parts else ""
        if err["type"] == "missing":
            msg = "missing"
        elif path.startswith("equipment[") and "." not in path:
            msg = f"expected {_EXPECTED['equipment']}, got {err.get('input')!r}"
        elif path == top and top in _EXPECTED:
            msg = f"expected {_EXPECTED[top]}, got {type(err.get('input')).__name__}"
        else:
            msg = err["msg"]
        seen.setdefault(path, f"{path}: {msg}")
    # a deeper error explains a shallower union branch ("equipment[1]" is not text because its count is bad)
    return [line for path, line in seen.items() if not any(o.startswith(path + ".") for o in seen)]


def parse_profile(data: Any, *, where: str, default_id: str | None = None) -> tuple[FirmProfile, list[str]]:
    """A profile from parsed YAML/JSON, and the warnings (unknown keys, old format) to show the person."""
    if not isinstance(data, dict):
        raise ConfigError(f"a firm profile is a mapping of keys (프로필은 키: 값 형식), got {type(data).__name__}",
                          where=where,
                          hint="start from: factorypilot match --example > firm.yaml")
    warnings: list[str] = []
    data = _migrate(data, warnings)
    try:
        profile = FirmProfile.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        raise ConfigError("firm profile has a wrong type (프로필 값 형식 오류) at " + "; ".join(problems), where=where,
                          hint="see factorypilot match --example (or --schema)") from exc
    extra = _extras(profile, "")
    if extra:
        warnings.append(f"unknown keys kept but not used for matching (매칭에 쓰지 않는 키): {', '.join(extra)}")
    if profile.id is None and default_id:
        profile = profile.model_copy(update={"id": default_id})
    if not profile.goals:
        warnings.append("no goals written: the ranking falls back on the sector hint and equipment (add goals) "
                        "(목표가 없어 업종·설비로만 판단함: goals를 적어 주세요)")
    return profile, warnings


_UNREADABLE = "cannot read firm profile (프로필을 읽을 수 없음)"


def load_profile(path: Path) -> tuple[FirmProfile, list[str]]:
    """Read a profile file (``.yaml``/``.yml``/``.json``); returns it with its warnings."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except FileNotFoundError:
        raise ConfigError(f"firm profile not found (프로필 파일 없음): {path}",
                          hint="write one from: factorypilot match --example > firm.yaml") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{_UNREADABLE}: {exc.msg}", where=f"{path}:{exc.lineno}:{exc.colno}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ConfigError(f"{_UNREADABLE}: {getattr(exc, 'problem', None) or exc}", where=where,
                          hint="a profile is UTF-8 YAML or JSON") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_UNREADABLE}: {exc}", where=str(path),
                          hint="a profile is a UTF-8 text file (YAML or JSON)") from exc
    return parse_profile(data, where=str(path), default_id=path.stem)
