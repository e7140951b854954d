"""``template map``: propose role → tag bindings for a firm's plant, with a confidence per role.

The mapper browses the firm's server (any connector with BROWSE/READ, normally OPC-UA), reads a short
sample of values, scores every (role, tag) pair (:mod:`._tpl_score`: Korean/English names and
abbreviations, units, data type, writability, value range) and assigns each tag to at most one role. The
ISA-95 hierarchy is used twice: roles of one pilot usually live on one equipment, so candidates on the
equipment where the confident picks are get a bonus.

Confidence is deliberately conservative: ``high`` needs a strong score *and* a clear margin over the next
candidate, so a wrong pick shows up as ``medium``/``low`` and is put to a person (interactive prompt or an
answers file) instead of being silently accepted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConfigError
from factorypilot.pilots._tpl_score import Score, role_profile, score_pair
from factorypilot.pilots.spec import PilotSpec
from factorypilot.vocabulary import Scalar, Tag

__all__ = ["Candidate", "Confidence", "MappingProposal", "RoleMapping", "load_answers", "propose_mapping",
           "resolve_answers", "sample_plant"]

Confidence = Literal["high", "medium", "low", "none"]
_RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1, "none": 0}
_MIN_SCORE = 0.3
_HIER_BONUS = 0.1


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    tag_id: str
    label: str
    score: float
    reasons: list[str] = Field(default_factory=list)


class RoleMapping(BaseModel):
    """The proposal for one role: the chosen tag (if any), its confidence and the runners-up."""

    model_config = ConfigDict(frozen=True)

    role: str
    required: bool
    tag_id: str | None
    label: str = ""
    score: float = 0.0
    margin: float = 0.0
    confidence: Confidence = "none"
    reasons: list[str] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)


class MappingProposal(BaseModel):
    pilot: str
    roles: dict[str, RoleMapping]
    equipment: str | None = Field(default=None, description="asset path most roles were mapped on")
    alternatives: list[str] = Field(default_factory=list,
                                    description="other equipment with identical tags (twin machines/lines)")

    def bindings(self, min_confidence: Confidence = "high") -> dict[str, str]:
        """Role → tag id for every role proposed with at least ``min_confidence``."""
        floor = _RANK[min_confidence]
        return {r: m.tag_id for r, m in self.roles.items() if m.tag_id and _RANK[m.confidence] >= floor}

    def needs_review(self, min_confidence: Confidence = "high") -> list[str]:
        floor = _RANK[min_confidence]
        return [r for r, m in self.roles.items() if _RANK[m.confidence] < floor]

    def answers_template(self) -> dict[str, str | None]:
        """What ``--answers`` expects, pre-filled with the proposal (edit and pass it back)."""
        return {r: m.tag_id for r, m in self.roles.items()}


def _label(tag: Tag) -> str:
    ko = tag.display_names.get("ko")
    return f"{tag.name} ({ko})" if ko and ko != tag.name else tag.name


def _equipment(tag: Tag) -> str | None:
    return str(tag.asset) if tag.asset is not None else None


def _confidence(best: Score, margin: float) -> Confidence:
    if best.total >= 0.95 and best.name >= 0.6 and margin >= 0.35:
        return "high"
    if best.total >= 0.6 and margin >= 0.15:
        return "medium"
    return "low"


def _assign(scores: dict[str, list[Score]]) -> dict[str, Score]:
    """Greedy one-to-one assignment, best pairs first (a tag serves at most one role)."""
    pairs = sorted(((s.total, role, s) for role, ss in scores.items() for s in ss if s.total >= _MIN_SCORE),
                   key=lambda p: -p[0])
    taken: set[str] = set()
    chosen: dict[str, Score] = {}
    for _, role, s in pairs:
        if role in chosen or s.tag.id in taken:
            continue
        chosen[role] = s
        taken.add(s.tag.id)
    return chosen


def _twin(a: Tag, b: Tag) -> bool:
    """The same signal on another identical machine or line (same browse name, other equipment)."""
    return a.id != b.id and a.name == b.name and _equipment(a) != _equipment(b)


def propose_mapping(spec: PilotSpec, tags: Sequence[Tag], samples: Mapping[str, Sequence[Scalar]] | None = None,
                    *, equipment: str | None = None) -> MappingProposal:
    """Score every role against every tag and propose one tag per role (CPU only; no I/O).

    ``equipment`` (a substring of an asset path, e.g. ``MctLine02``) says which of several identical
    machines/lines the pilot is for; by default the one most confident picks sit on (first in browse order).
    """
    samples = samples or {}
    # method roles are not variables: browse does not list them, so they are never matched to a tag here
    profiles = {r: role_profile(r, rs) for r, rs in spec.roles.items() if rs.kind == "signal"}
    scores = {r: [score_pair(p, t, samples.get(t.id, ())) for t in tags] for r, p in profiles.items()}
    first = _assign(scores)
    # hierarchy: the equipment most of the name-confident picks sit on (or the one the user names)
    if equipment is not None:
        wanted = equipment
        if not any(wanted in (_equipment(t) or "") for t in tags):
            raise ConfigError(f"no equipment matching {equipment!r} on this plant",
                              hint="give part of an asset path shown by: factorypilot connect browse")
        bonus_for = [e for t in tags if (e := _equipment(t)) and wanted in e]
    else:
        homes = Counter(e for s in first.values() if s.name >= 0.6 and (e := _equipment(s.tag)) is not None)
        bonus_for = [homes.most_common(1)[0][0]] if homes else []
    for ss in scores.values():
        for s in ss:
            if _equipment(s.tag) in bonus_for:
                s.add(_HIER_BONUS, f"on {str(_equipment(s.tag)).rsplit('/', 1)[-1]} with the other roles")
    chosen = _assign(scores)
    out: dict[str, RoleMapping] = {}
    for role, ss in scores.items():
        ranked = sorted(ss, key=lambda s: -s.total)
        cands = [Candidate(tag_id=s.tag.id, label=_label(s.tag), score=round(s.total, 3), reasons=s.reasons)
                 for s in ranked[:5] if s.total > 0]
        best = chosen.get(role)
        if best is None:
            out[role] = RoleMapping(role=role, required=spec.roles[role].required, tag_id=None, candidates=cands)
            continue
        runner = max((s.total for s in ss if s.tag.id != best.tag.id and not _twin(s.tag, best.tag)), default=0.0)
        margin = best.total - runner
        out[role] = RoleMapping(role=role, required=spec.roles[role].required, tag_id=best.tag.id,
                                label=_label(best.tag), score=round(best.total, 3), margin=round(margin, 3),
                                confidence=_confidence(best, margin), reasons=best.reasons, candidates=cands)
    twins = sorted({e for s in chosen.values() for t in tags if _twin(t, s.tag) and (e := _equipment(t))})
    placed = Counter(e for s in chosen.values() if (e := _equipment(s.tag)) is not None)
    home = placed.most_common(1)[0][0] if placed else None
    return MappingProposal(pilot=spec.id, roles=out, equipment=home, alternatives=twins)


async def sample_plant(connector: BaseConnector[Any], *, reads: int = 3,
                       interval_s: float = 0.3) -> tuple[list[Tag], dict[str, list[Scalar]]]:
    """Browse the plant and read every tag ``reads`` times (a short look at the value ranges)."""
    tags = await connector.browse()
    values: dict[str, list[Scalar]] = {t.id: [] for t in tags}
    ids = [t.id for t in tags]
    for i in range(reads):
        if i:
            await asyncio.sleep(interval_s)
        for sample in await connector.read(ids):
            if sample.quality.value == "good":
                values.setdefault(sample.tag_id, []).append(sample.value)
    return tags, values


def load_answers(path: Path) -> dict[str, str | None]:
    """An answers file: YAML ``role: tag`` (tag id, browse name or display name; ``null``/``skip`` = unmapped)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"answers file not found: {path}",
                          hint="write one with: factorypilot template map --write-answers FILE") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read answers file: {exc}", where=str(path),
                          hint="a UTF-8 YAML mapping of role: tag") from exc
    if not isinstance(data, dict):
        raise ConfigError("the answers file must be a YAML mapping of role: tag", where=str(path))
    out: dict[str, str | None] = {}
    for k, v in data.items():
        if v is not None and not isinstance(v, str):
            raise ConfigError(f"answer for role {k!r} must be a tag (string) or null", where=str(path))
        out[str(k)] = None if v in (None, "", "skip") else v
    return out


def resolve_answers(spec: PilotSpec, tags: Sequence[Tag], answers: Mapping[str, str | None],
                    *, where: str = "answers") -> dict[str, str]:
    """Turn answers (tag ids or names) into role → tag id; unknown roles or tags raise ``ConfigError``."""
    by_name: dict[str, str] = {}
    for t in tags:
        for name in (t.id, t.name, *t.display_names.values()):
            by_name.setdefault(name, t.id)
    out: dict[str, str] = {}
    for role, tag in answers.items():
        if role not in spec.roles:
            raise ConfigError(f"answers name unknown role {role!r}", where=where,
                              hint=f"roles of {spec.id}: {', '.join(spec.roles)}")
        if tag is None:
            continue
        if tag not in by_name:
            raise ConfigError(f"role {role!r}: no tag {tag!r} on this plant", where=where,
                              hint="use a node id, browse name or display name from: factorypilot connect browse")
        out[role] = by_name[tag]
    return out
