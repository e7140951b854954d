"""Scoring ``template map`` against a plant's answer key: right / wrong / wrong-high / asked / absent.

An answer key (``tests/pilots/spreading/plants/*.answers.yaml``) names, per template, the machine and for each role
the node a person who knows the plant would bind (identifier without the namespace index), or ``null`` when
the plant has no such signal. Outcomes per role:

- ``right``: proposed ``high`` (taken without asking) and it is the key's node.
- ``wrong-high``: proposed ``high`` and it is *not* the key's node (or the key says absent). Must be 0.
- ``absent``: the key says absent and the mapper proposed no tag (it suggests "absent?").
- ``asked``: below ``high`` — a person is asked; ``asked_right`` counts those whose first proposal (tag, or
  "absent?") was right, ``wrong`` those whose first proposal was wrong.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, cast

import yaml

from factorypilot.pilots.spreading.mapping import MappingProposal

__all__ = ["load_key", "outcome", "score_proposal"]


def load_key(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def _local(tag_id: str | None) -> str | None:
    return tag_id.split(";", 1)[1] if tag_id and ";" in tag_id else tag_id


def outcome(truth: str | None, tag_id: str | None, confidence: str) -> str:
    proposed = _local(tag_id)
    if confidence == "high":
        return "right" if proposed is not None and proposed == truth else "wrong-high"
    if truth is None and proposed is None:
        return "absent"
    return "asked-right" if proposed == truth else "asked-wrong"


def score_proposal(proposal: MappingProposal, roles: dict[str, str | None]) -> dict[str, Any]:
    """Per-role outcomes and the counts for one template on one plant."""
    per = {r: outcome(roles.get(r), rm.tag_id, rm.confidence) for r, rm in proposal.roles.items()}
    c = Counter(per.values())
    return {"roles": per, "right": c["right"], "wrong_high": c["wrong-high"], "absent": c["absent"],
            "asked": c["asked-right"] + c["asked-wrong"], "asked_right": c["asked-right"],
            "wrong": c["asked-wrong"] + c["wrong-high"], "total": len(per)}
