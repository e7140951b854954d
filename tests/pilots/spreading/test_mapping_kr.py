"""``template map`` on the second plant (``mobility-kr``: Korean PLC-style names, other hierarchy and units).

The plant is browsed over real OPC-UA (asyncua server on 127.0.0.1) and sampled; nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from factorypilot.connectors.registry import create
from factorypilot.errors import ConfigError
from factorypilot.pilots.mobility.plant_kr import TRUTH
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import running_plant
from factorypilot.pilots.spec import PilotSpec
from factorypilot.pilots.spreading.mapping import (
    ABSENT,
    MappingProposal,
    load_answers,
    propose_mapping,
    resolve_answers,
    sample_plant,
)
from factorypilot.vocabulary import Scalar, Tag

Plant = tuple[list[Tag], dict[str, list[Scalar]]]


def _browse(model: str) -> Plant:
    async def go(endpoint: str) -> Plant:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            return await sample_plant(conn, reads=3, interval_s=0.15)

    with running_plant(model=model, seed=5, realtime=True) as plant:
        return asyncio.run(go(plant.endpoint))


@pytest.fixture(scope="module")
def kr_plant() -> Iterator[Plant]:
    return _browse("mobility-kr")


@pytest.fixture(scope="module")
def spec() -> PilotSpec:
    return resolve_spec("mobility")[0]


def _right(proposal: MappingProposal, role: str, tags: list[Tag]) -> bool:
    tag_id = proposal.roles[role].tag_id
    return tag_id is not None and tag_id.endswith("." + TRUTH[role])


def test_second_plant_really_differs(kr_plant: Plant, spec: PilotSpec) -> None:
    tags, _ = kr_plant
    # no tag of the firm's plant carries a role name of the pilot, in any of its names or its node id
    for tag in tags:
        names = " ".join([tag.id, tag.name, *tag.display_names.values()]).lower()
        assert not any(role in names for role in spec.roles), tag
    units = {t.unit for t in tags}
    assert {"㎜/s", "℃", "퍼센트", "g"} <= units
    assert all(str(t.asset).startswith("SeongseoPrecision/Plant2/GagongBan") for t in tags if t.asset)


def test_map_gets_required_roles_right_without_hints(kr_plant: Plant, spec: PilotSpec) -> None:
    tags, values = kr_plant
    proposal = propose_mapping(spec, tags, values)
    required = [r for r, rs in spec.roles.items() if rs.required]
    right = [r for r in required if _right(proposal, r, tags)]
    assert len(right) / len(required) >= 0.9, {r: proposal.roles[r].label for r in required}
    # every role not right is flagged below high confidence; nothing is wrong with high confidence
    for role, rm in proposal.roles.items():
        if not _right(proposal, role, tags):
            assert rm.confidence != "high", (role, rm.label)
    assert proposal.roles["spindle_vibration"].label == "SPDL_VIB (스핀들 진동값)"
    assert proposal.roles["feed_override"].confidence == "high"  # not the spindle override decoy
    assert proposal.roles["door_open"].tag_id
    assert proposal.roles["door_open"].tag_id.endswith(".door_sw")


@pytest.mark.parametrize("role", list(TRUTH))
def test_without_the_right_tag_never_high_confidence(kr_plant: Plant, spec: PilotSpec, role: str) -> None:
    """Remove the true tag of a role: whatever the mapper proposes then is a decoy and must not be 'high'."""
    tags, values = kr_plant
    pruned = [t for t in tags if not t.id.endswith("." + TRUTH[role])]
    rm = propose_mapping(spec, pruned, values).roles[role]
    assert rm.confidence in ("medium", "low", "none"), (role, rm.label, rm.score, rm.margin)


def test_reasons_and_candidates_explain_the_choice(kr_plant: Plant, spec: PilotSpec) -> None:
    tags, values = kr_plant
    rm = propose_mapping(spec, tags, values).roles["feed_override"]
    assert any("unit" in r for r in rm.reasons)
    assert any("writable" in r for r in rm.reasons)
    assert [c.label for c in rm.candidates[:2]] == ["F_OVR (이송 오버라이드)", "S_OVR (주축 오버라이드)"]
    assert rm.margin > 0.3


def test_reference_plant_maps_completely(spec: PilotSpec) -> None:
    tags, values = _browse("mobility")
    proposal = propose_mapping(spec, tags, values)
    assert all(rm.confidence == "high" and rm.tag_id and rm.tag_id.endswith("." + role)
               for role, rm in proposal.roles.items())


def test_answers_by_korean_display_name_or_id(kr_plant: Plant, spec: PilotSpec, tmp_path: Path) -> None:
    tags, _ = kr_plant
    f = tmp_path / "answers.yaml"
    f.write_text("machine_state: 운전 상태\nspindle_vibration: SPDL_VIB\ntool_wear: skip\ndoor_open: null\n",
                 encoding="utf-8")
    answers = load_answers(f)
    assert answers["tool_wear"] is None  # skip: decide later
    assert answers["door_open"] == ABSENT  # null: the plant has no such signal
    bound = resolve_answers(spec, tags, answers)
    assert bound["machine_state"].endswith(".op_sts")
    assert bound["spindle_vibration"].endswith(".spdl_vib")
    assert "tool_wear" not in bound
    with pytest.raises(ConfigError, match="no tag '없는태그'"):
        resolve_answers(spec, tags, {"door_open": "없는태그"})
    with pytest.raises(ConfigError, match="unknown role"):
        resolve_answers(spec, tags, {"spindel": "SPDL_VIB"})
    with pytest.raises(ConfigError, match="answers file not found"):
        load_answers(tmp_path / "missing.yaml")


def test_twin_lines_map_to_one_line_and_are_reported(spec: PilotSpec) -> None:
    """A firm with two identical lines: roles go to one line together; the other is named, and selectable."""

    async def go(endpoint: str) -> Plant:
        async with create("opcua", {"endpoint": endpoint}) as conn:
            return await sample_plant(conn, reads=1, interval_s=0.0)

    with running_plant(model="mobility-kr", seed=5, realtime=False, scale=2) as plant:
        tags, values = asyncio.run(go(plant.endpoint))
    proposal = propose_mapping(spec, tags, values)
    assert proposal.equipment is not None
    assert proposal.equipment.endswith("MctLine01/MCT1")
    assert [a.rsplit("/", 2)[-2] for a in proposal.alternatives] == ["MctLine02"]
    assert all(".mct-line-01." in (rm.tag_id or "") for rm in proposal.roles.values())
    # two identical machines: the firm must say which, so nothing is taken unasked
    assert proposal.ambiguous
    assert all(rm.confidence != "high" for rm in proposal.roles.values())
    second = propose_mapping(spec, tags, values, equipment="MctLine02")
    assert all(".mct-line-02." in (rm.tag_id or "") for rm in second.roles.values())
    assert second.roles["spindle_vibration"].confidence == "high"
    with pytest.raises(ConfigError, match="no machine matching"):
        propose_mapping(spec, tags, values, equipment="Line99")
