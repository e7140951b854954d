"""The firm profile format: example, both equipment styles, unknown keys warned, wrong types one clear error,
the old format converted, the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading._profile_example import example_profile
from factorypilot.pilots.spreading.matching import Equipment, load_profile, parse_profile, profile_schema

PROFILES = Path(__file__).parent / "firm_profiles"
SCHEMA_FILE = Path(__file__).parents[3] / "docs" / "firm-profile.schema.json"


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_example_is_a_valid_commented_profile(lang: str) -> None:
    text = example_profile(lang)
    assert text.count("#") >= 10  # commented
    profile, warnings = parse_profile(yaml.safe_load(text), where="example")
    assert warnings == []
    assert profile.lang == lang
    assert profile.goals
    assert profile.constraints
    assert isinstance(profile.equipment[0], str)
    assert isinstance(profile.equipment[1], Equipment)
    assert profile.data_sources.opcua is not None
    assert profile.data_sources.opcua.available is True
    if lang == "ko":
        assert "기업 프로필" in text
        assert profile.company.name == "성서정밀"


def test_both_equipment_styles_read_the_same_text(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("goals: [주축 고장 감소]\nequipment: [CNC 선반 두산 12대]\n", encoding="utf-8")
    obj = tmp_path / "obj.json"
    obj.write_text(json.dumps({"goals": ["주축 고장 감소"], "equipment": [{"type": "CNC 선반", "count": 12,
                                                                    "maker": "두산"}]}), encoding="utf-8")
    p1, _ = load_profile(plain)
    p2, _ = load_profile(obj)
    assert p1.equipment_texts() == ["CNC 선반 두산 12대"]
    assert p2.equipment_texts() == ["CNC 선반 두산"]
    assert isinstance(p2.equipment[0], Equipment)
    assert p2.equipment[0].count == 12
    assert (p1.id, p2.id, p1.lang) == ("plain", "obj", "ko")


def test_every_labelled_profile_reads_without_warnings() -> None:
    files = sorted(PROFILES.glob("*/*.yaml"))
    assert len(files) == 27
    styles = {"str": 0, "obj": 0}
    for f in files:
        profile, warnings = load_profile(f)
        assert warnings == [], f
        assert profile.id == f.stem
        styles["obj" if isinstance(profile.equipment[0], Equipment) else "str"] += 1
    assert styles == {"str": 13, "obj": 14}


def test_unknown_keys_are_warned_by_name_not_refused() -> None:
    data = {"company": {"name": "달성오토텍", "대표자": "김"}, "담당자": "박 지원관", "visit_date": "2026-10-01",
            "equipment": [{"type": "용접 로봇", "controller": "Hi6"}], "goals": ["로봇 알람 복구 시간 단축"]}
    profile, warnings = parse_profile(data, where="firm.yaml")
    assert profile.goals == ["로봇 알람 복구 시간 단축"]
    assert len(warnings) == 1
    for key in ("담당자", "visit_date", "company.대표자", "equipment[0].controller"):
        assert key in warnings[0]


def test_wrong_types_are_one_error_naming_each_path() -> None:
    data = {"equipment": ["CNC", 5, {"type": "robot", "count": [2]}], "goals": {"a": 1}, "data_sources": "OPC-UA",
            "company": {"name": "x"}, "language": "jp"}
    with pytest.raises(ConfigError) as err:
        parse_profile(data, where="firm.yaml")
    msg = str(err.value)
    assert msg.startswith("firm profile has a wrong type (프로필 값 형식 오류) at ")
    assert "equipment[1]: expected text, or an object {type, count, maker, notes}, got 5" in msg
    assert "equipment[2].count" in msg
    assert "equipment[2]: expected" not in msg          # the deeper error explains it; no duplicate
    assert "goals: expected a list of sentences, got dict" in msg
    assert "data_sources: expected an object" in msg
    assert "language:" in msg
    assert err.value.where == "firm.yaml"
    assert "match --example" in (err.value.hint or "")


def test_a_single_sentence_counts_as_a_list() -> None:
    profile, _ = parse_profile({"goals": "불량 유출 방지", "constraints": "야간 무인"}, where="x")
    assert (profile.goals, profile.constraints) == (["불량 유출 방지"], ["야간 무인"])


def test_old_profile_format_is_converted_with_a_warning(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("name: 성서정밀\nsector: 자동차부품\nequipment: [CNC 머시닝센터]\n"
                   "data_sources: [OPC-UA, MES 엑셀]\ngoals: [비가동 시간 감소]\nlang: ko\n", encoding="utf-8")
    profile, warnings = load_profile(old)
    assert profile.company.name == "성서정밀"
    assert profile.sector_hint == "자동차부품"
    assert profile.language == "ko"
    assert profile.data_sources.opcua is not None
    assert profile.data_sources.opcua.available is True
    assert profile.data_sources.mes is not None
    assert profile.data_sources.mes.vendor == "MES 엑셀"
    assert any("old profile format converted" in w and "sector_hint" in w for w in warnings)


def test_unreadable_files_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("goals: [a\nconstraints: b: c\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_profile(bad)
    assert err.value.where is not None
    assert err.value.where.startswith(f"{bad}:")
    with pytest.raises(ConfigError, match="not found"):
        load_profile(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping of keys"):
        load_profile(listing)


def test_published_schema_is_current() -> None:
    schema = profile_schema()
    assert schema["title"] == "factorypilot firm profile"
    for key in ("company", "sector_hint", "products", "equipment", "data_sources", "goals", "constraints"):
        assert key in schema["properties"]
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == schema, \
        "regenerate: factorypilot match --schema > docs/firm-profile.schema.json"


_text = st.text(alphabet="ab가나 1", max_size=6)
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), _text)
_value: Any = st.recursive(_leaf, lambda c: st.one_of(st.lists(c, max_size=3),
                                                      st.dictionaries(_text, c, max_size=3)), max_leaves=6)


@settings(suppress_health_check=[HealthCheck.too_slow])  # the shared CI machine is slow, not the strategy
@given(st.dictionaries(st.sampled_from(["id", "language", "company", "sector_hint", "products", "equipment",
                                        "data_sources", "goals", "constraints", "notes", "name", "sector",
                                        "extra"]), _value, max_size=6))
def test_any_input_is_a_profile_or_a_config_error(data: dict[str, Any]) -> None:
    error: ConfigError | None = None
    try:
        profile, warnings = parse_profile(data, where="h.yaml")
    except ConfigError as exc:
        error = exc
    if error is not None:
        assert error.where == "h.yaml"
        assert str(error)
    else:
        assert profile.lang in ("ko", "en")
        assert all(isinstance(w, str) for w in warnings)
