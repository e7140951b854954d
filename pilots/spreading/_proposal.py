"""What ``template map`` proposes: per role the chosen tag, its confidence and why, and the machine it is on."""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Candidate", "Confidence", "MappingProposal", "RoleMapping"]

Confidence = Literal["high", "medium", "low", "none"]
_RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1, "none": 0}


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    tag_id: str
    label: str
    score: float
    equipment: str = ""
    reasons: list[str] = Field(default_factory=list)


class RoleMapping(BaseModel):
    """The proposal for one role: the chosen tag (if any), its confidence, why, and the runners-up."""

    model_config = ConfigDict(frozen=True)

    role: str
    required: bool
    kind: Literal["signal", "method"] = "signal"
    level: str = "equipment"
    tag_id: str | None
    label: str = ""
    equipment: str = Field(default="", description="the machine (or line) the proposed tag sits on")
    score: float = 0.0
    margin: float = 0.0
    confidence: Confidence = "none"
    reasons: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list, description="evidence against the proposal")
    candidates: list[Candidate] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list, description="what the role feeds (disabled if absent)")

    @property
    def suggest_absent(self) -> bool:
        return self.tag_id is None


class MappingProposal(BaseModel):
    pilot: str
    roles: dict[str, RoleMapping]
    equipment: str | None = Field(default=None, description="path of the machine the template is mapped on")
    alternatives: list[str] = Field(default_factory=list,
                                    description="other machines that could host the template as well")
    ambiguous: bool = Field(default=False, description="several machines fit; a person must say which")
    machines: dict[str, float] = Field(default_factory=dict, description="machine path -> how well it fits")
    identification: dict[str, str] = Field(default_factory=dict, description="machine path -> its OPC 40001 "
                                           "Identification in one line (maker, model, serial, class)")
    left_out: dict[str, str] = Field(default_factory=dict, description="machines that fit as well but whose "
                                     "Identification or type says they are another class of machine (path -> why)")

    def machine_label(self, path: str | None) -> str:
        """``EQ1 (Hyundai Robotics HH7, serial HR7-23-0417, Industrial robot)`` — how a question names a machine."""
        if not path:
            return "-"
        name = path.rsplit("/", 1)[-1]
        return f"{name} ({self.identification[path]})" if self.identification.get(path) else name

    def bindings(self, min_confidence: Confidence = "high") -> dict[str, str]:
        """Role → tag id for every role proposed with at least ``min_confidence``."""
        floor = _RANK[min_confidence]
        return {r: m.tag_id for r, m in self.roles.items() if m.tag_id and _RANK[m.confidence] >= floor}

    def needs_review(self, min_confidence: Confidence = "high") -> list[str]:
        floor = _RANK[min_confidence]
        return [r for r, m in self.roles.items() if _RANK[m.confidence] < floor]

    def answers_template(self) -> dict[str, str | None]:
        """Role → tag id as ``--write-answers`` writes it: guesses below ``high`` carry a leading ``?``."""
        return {r: (None if m.tag_id is None else m.tag_id if m.confidence == "high" else f"?{m.tag_id}")
                for r, m in self.roles.items()}

    def answers_text(self) -> str:
        """The answers file with a comment per role: confidence, label, machine, what an absence disables."""
        lines = ["# template map answers: role: tag (node id, browse name or display name)",
                 "#   a value starting with '?' is an unconfirmed guess (medium/low): remove the '?' to confirm it",
                 "#   null = this plant has no such signal (what the role feeds is then disabled)",
                 f"# equipment: {self.equipment or '-'}"
                 + (f" (also possible: {', '.join(self.alternatives)})" if self.alternatives else "")]
        for role, value in self.answers_template().items():
            rm = self.roles[role]
            note = (f"{rm.confidence}: {rm.label} on {rm.equipment}" if rm.tag_id else
                    "none: no plausible tag — absent? disables: " + ("; ".join(rm.feeds) or "nothing"))
            lines.append(f"{role}: {yaml.safe_dump(value, allow_unicode=True).strip().removesuffix('...').strip()}"
                         f"  # {note}")
        return "\n".join(lines) + "\n"
