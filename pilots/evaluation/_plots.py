"""Timeline plots (matplotlib, Agg backend, PNG): the watched signal, the detections and the actions.

One PNG per scenario: top panel the detector roles of the agent run (solid) and the baseline (dashed) with the
detector limits; bottom panel the written setpoints as steps. Vertical lines mark the onset (grey), detections
(orange) and accepted writes (green); shaded spans are data gaps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factorypilot.pilots.evaluation._run import Trace
from factorypilot.pilots.evaluation._score import ScenarioScore

__all__ = ["plot_scenario"]


def _series(trace: Trace, role: str) -> list[float]:
    out = []
    for frame in trace.values:
        v = frame.get(role)
        out.append(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else float("nan"))
    return out


def plot_scenario(path: Path, score: ScenarioScore, agent: Trace, baseline: Trace, *, onset: int,
                  detector_limits: dict[str, list[float]], title: str, fallback_title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    if not _drawable(title):
        title = fallback_title if fallback_title.isascii() and fallback_title else score.id
    roles = [r for r in detector_limits if r in agent.initial] or [r for r in agent.initial][:1]
    written = sorted({role for _, role, _ in agent.writes})
    panels = len(roles) + (1 if written else 0)
    fig, axes = plt.subplots(panels, 1, figsize=(9, 1.2 + 2.1 * panels), sharex=True, squeeze=False)
    ticks = list(range(len(agent.values)))
    for i, role in enumerate(roles):
        ax = axes[i][0]
        ax.plot(ticks, _series(agent, role), color="C0", lw=1.3, label="agent")
        ax.plot(list(range(len(baseline.values))), _series(baseline, role), color="C1", lw=1.0, ls="--",
                alpha=0.8, label="baseline (no agent)")
        for limit in detector_limits.get(role, []):
            ax.axhline(limit, color="tab:red", lw=0.8, ls=":", label="detector limit")
        _marks(ax, score, agent, onset)
        ax.set_ylabel(role, fontsize=8)
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_title(title, fontsize=10)
    if written:
        bx = axes[-1][0]
        for role in written:
            bx.step(ticks, _series(agent, role), where="post", color="C0", label=f"{role} (agent)")
            bx.step(list(range(len(baseline.values))), _series(baseline, role), where="post", color="C1", ls="--",
                    alpha=0.8, label=f"{role} (baseline)")
        _marks(bx, score, agent, onset)
        bx.set_ylabel("setpoint", fontsize=8)
        bx.legend(fontsize=7, loc="lower left")
    axes[-1][0].set_xlabel(f"tick (× {agent.tick_seconds:g} s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _drawable(text: str) -> bool:
    """True if a font matplotlib knows has Hangul (else Korean titles would draw as boxes and warn)."""
    if text.isascii():
        return True
    from factorypilot.pilots.evaluation._fonts import use_korean_font

    return use_korean_font()


def _marks(ax: Any, score: ScenarioScore, agent: Trace, onset: int) -> None:
    if onset > 0 or score.expect_detect:
        ax.axvline(onset, color="grey", lw=1.0, ls="-.")
    for t in score.detection_ticks:
        ax.axvline(t, color="tab:orange", lw=1.0)
    for t, _, _ in agent.writes:
        ax.axvline(t, color="tab:green", lw=1.0, ls="--")
    for t in agent.gaps:
        ax.axvspan(t - 0.5, t + 0.5, color="tab:red", alpha=0.15, lw=0)
