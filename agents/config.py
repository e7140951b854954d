"""``AgentConfig``: what the framework needs to build an agent graph for one pilot.

The pilot spec (``factorypilot.pilots.spec``) resolves its tag roles against a plant and produces this.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from factorypilot.agents.detectors import DetectorConfig
from factorypilot.agents.planners.playbook import Playbook
from factorypilot.agents.safety import SafetyPolicy

__all__ = ["AgentConfig", "VerifyConfig"]


class VerifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance: float = Field(default=1e-6, ge=0, description="absolute tolerance for numeric read-back")
    timeout_s: float = Field(default=3.0, ge=0, description=(
        "read back until the value matches or this much time (monotonic clock) has passed; a slow or starved "
        "machine gets the same wall-clock window, not fewer chances"))
    attempts: int = Field(default=2, ge=1, description="at least this many reads before 'unconfirmed', however "
                                                       "little time they took")
    interval_s: float = Field(default=0.2, ge=0, description="pause between reads")


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="pilot id (kebab-case)")
    roles: dict[str, str] = Field(description="role -> tag id")
    observe: list[str] = Field(default_factory=list, description="roles read by observe (default: all roles)")
    detectors: list[DetectorConfig] = Field(default_factory=list)
    playbooks: list[Playbook] = Field(default_factory=list)
    policy: SafetyPolicy = Field(default_factory=SafetyPolicy)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    lang: Literal["en", "ko"] = "en"
    max_replans: int = Field(default=2, ge=0, description="planner retries after guard refusals (LLM planner)")
