"""The scenario evaluation harness: run a pilot's scenarios against the simulator and score it.

``evaluate("mobility")`` (or ``factorypilot eval mobility``) runs every scenario of the spec twice — the pilot
on the simulated plant over OPC-UA, and a no-agent baseline of the same seed and faults — scores detection,
false alarms, time to detect, action correctness, safety violations, approvals, unverified "done" results,
prompt tokens and KPI deltas, and writes Markdown + JSON reports and PNG timelines under
``FACTORYPILOT_HOME/reports/<pilot>/<timestamp>/``. ``report.gate_passed`` says whether the spec's ``gate``
thresholds are met. A new sector pilot plugs in by YAML only: ``scenarios``, ``gate`` and ``kpis`` in its spec.
See ``docs/evaluation.md``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from factorypilot.agents import Planner, PlaybookPlanner
from factorypilot.agents.runtime_deps import Retriever
from factorypilot.errors import ConfigError
from factorypilot.pilots.evaluation._plots import plot_scenario
from factorypilot.pilots.evaluation._report import write_reports
from factorypilot.pilots.evaluation._run import APPROVER, run_agent, run_baseline
from factorypilot.pilots.evaluation._score import Aggregate, ScenarioScore, aggregate, gate_failures, score
from factorypilot.pilots.evaluation.alarm_stats import AlarmStats, alarm_stats
from factorypilot.pilots.evaluation.scenarios import GateSpec, Scenario, load_scenario_file
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.simulator import available_models
from factorypilot.pilots.spec import PilotSpec
from factorypilot.settings import get_settings
from factorypilot.vocabulary import AlarmEvent

__all__ = ["APPROVER", "EvalReport", "aevaluate", "evaluate", "load_scenarios", "make_planner"]

log = logging.getLogger("factorypilot.pilots.eval")

ALARM_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
"""Plant-time origin of the report's alarm statistics (the scenarios run one after another from here)."""

AI4I_ATTRIBUTION = ("AI4I 2020 Predictive Maintenance Dataset — S. Matzka, UCI Machine Learning Repository (2020), "
                    "doi:10.24432/C5HS5C, CC BY 4.0")


@dataclass
class EvalReport:
    pilot: str
    spec_path: Path
    planner: str
    lang: str
    started: str
    scores: list[ScenarioScore]
    aggregate: Aggregate
    gate: GateSpec
    gate_failures: list[str]
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    attributions: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    """Markdown sections the sector pilot adds to the report (``SectorPilot.report_sections``)."""
    alarms: AlarmStats | None = None
    """ISA-18.2 statistics of the plant alarms over all scenarios (plant time; None: the plant raised none)"""

    @property
    def gate_passed(self) -> bool:
        return not self.gate_failures

    def scenario(self, scenario_id: str) -> ScenarioScore:
        for s in self.scores:
            if s.id == scenario_id:
                return s
        raise KeyError(scenario_id)


def load_scenarios(spec: PilotSpec, spec_path: Path, extra: list[Path] | tuple[Path, ...] = ()) -> list[Scenario]:
    """The spec's scenarios (inline, or the YAML file it names) plus any extra scenario files."""
    if isinstance(spec.scenarios, str):
        found = load_scenario_file(spec_path.parent / spec.scenarios)
    else:
        found = [s if s.replay is None or Path(s.replay.path).is_absolute() else s.model_copy(update={
            "replay": s.replay.model_copy(update={"path": str((spec_path.parent / s.replay.path).resolve())})})
            for s in spec.scenarios]
    for path in extra:
        found += load_scenario_file(Path(path))
    ids = [s.id for s in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"duplicate scenario ids: {', '.join(dupes)}", where=str(spec_path),
                          hint="give extra scenario files their own ids")
    return found


def make_planner(kind: str | Planner, spec: PilotSpec) -> Planner:
    """``playbook`` (default, offline), ``llm`` (the chat model of the spec's ``planner:`` block, else of the
    FACTORYPILOT_LLM_* settings, with the playbooks as fallback), or a planner object."""
    if not isinstance(kind, str):
        return kind
    if kind == "playbook":
        return PlaybookPlanner(spec.confirmed_playbooks())
    if kind == "llm":
        try:
            from factorypilot.agents.planners.llm import LLMPlanner
        except ImportError as exc:
            raise ConfigError("the LLM planner is not available in this installation",
                              hint='install the llm extra: pip install "factorypilot[llm]"') from exc
        block = getattr(spec, "planner", None)  # the spec's `planner:` block, else FACTORYPILOT_LLM_* settings
        # the one constructor: timeout, retries, max_tokens and mode from the settings, playbooks as fallback
        return LLMPlanner.from_config(block if isinstance(block, dict) else None, spec.confirmed_playbooks())
    raise ConfigError(f"unknown planner {kind!r}", where="--planner", hint="use playbook or llm")


async def _retriever(spec: PilotSpec, spec_path: Path, home: Path) -> Retriever | None:
    if not spec.knowledge:
        return None
    from factorypilot.knowledge import KnowledgeStore
    from factorypilot.pilots.runtime import KnowledgeRetriever

    store = KnowledgeStore.open(spec.id, home=home)
    await store.aingest([p for p in (spec_path.parent / k for k in spec.knowledge) if p.exists()])
    return KnowledgeRetriever(store)


def _limits(spec: PilotSpec) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for d in spec.detectors:
        out.setdefault(d.role, [])
        out[d.role] += [x for x in (getattr(d, "high", None), getattr(d, "low", None)) if x is not None]
    return out


async def aevaluate(pilot: str | Path, *, scenarios: list[str] | None = None, planner: str | Planner = "playbook",
                    lang: str | None = None, out: Path | None = None, home: Path | None = None,
                    approvals: str = "approve", knowledge: bool = True, plots: bool = True,
                    scenario_files: list[Path] | tuple[Path, ...] = ()) -> EvalReport:
    """Evaluate ``pilot`` (a reference pilot name or a spec path). See the module docstring."""
    spec, spec_path = resolve_spec(pilot)
    lang = lang or spec.lang
    if lang not in ("en", "ko"):
        raise ConfigError(f"unknown language {lang!r}", where="--lang", hint="use en or ko")
    if approvals not in ("approve", "reject"):
        raise ConfigError(f"unknown approval policy {approvals!r}", where="approvals", hint="use approve or reject")
    spec = spec.model_copy(update={"lang": lang})
    selected = load_scenarios(spec, spec_path, scenario_files)
    if scenarios:
        unknown = [s for s in scenarios if s not in {x.id for x in selected}]
        if unknown:
            raise ConfigError(f"unknown scenario(s): {', '.join(unknown)}", where=str(spec_path),
                              hint=f"scenarios of {spec.id}: {', '.join(x.id for x in selected)}")
        selected = [x for x in selected if x.id in scenarios]
    if not selected:
        raise ConfigError(f"pilot {spec.id!r} has no scenarios", where=str(spec_path),
                          hint="add 'scenarios:' to the spec (see docs/evaluation.md)")
    home = Path(home or get_settings().home)
    started = datetime.now(UTC)
    out = Path(out or home / "reports" / spec.id / f"{started:%Y%m%dT%H%M%SZ}")
    chosen = make_planner(planner, spec)
    retriever = await _retriever(spec, spec_path, home) if knowledge else None
    assert spec.simulator is not None or not selected
    model_cls = available_models().get(spec.simulator.model) if spec.simulator else None
    counters = model_cls.counter_roles if model_cls else None
    scores: list[ScenarioScore] = []
    alarm_record: list[AlarmEvent] = []  # on one plant-time axis: the scenarios one after another
    plant_time = ALARM_EPOCH
    plot_files: dict[str, Path] = {}
    attributions: list[str] = []
    for sc in selected:
        log.info("scenario %s", sc.id)
        baseline = await run_baseline(spec, sc)
        agent = await run_agent(spec, sc, home=out / "runs" / sc.id, planner=chosen, retriever=retriever,
                                approvals=approvals)
        s = score(sc, agent, baseline, spec.policy, spec.kpis, counters)
        scores.append(s)
        alarm_record += [a.model_copy(update={"time": plant_time + timedelta(seconds=tick * agent.tick_seconds)})
                         for tick, a in agent.alarms]
        plant_time += timedelta(seconds=sc.duration_ticks * agent.tick_seconds)
        if sc.replay is not None and "ai4i" in sc.replay.path.lower() and AI4I_ATTRIBUTION not in attributions:
            attributions.append(AI4I_ATTRIBUTION)
        if plots:
            from factorypilot.agents.planners.base import localized

            plot_files[sc.id] = await asyncio.to_thread(
                plot_scenario, out / f"{sc.id}.png", s, agent, baseline, onset=sc.onset,
                detector_limits=_limits(spec), title=f"{sc.id}: {localized(sc.title, lang)}",
                fallback_title=f"{sc.id}: {localized(sc.title, 'en')}")
    agg = aggregate(scores)
    gate = spec.gate
    if getattr(chosen, "name", "") == "llm" and gate.max_fallback_rate is None:
        gate = gate.model_copy(update={"max_fallback_rate": 0.0})  # a model that never answered cannot pass
    report = EvalReport(pilot=spec.id, spec_path=spec_path, planner=getattr(chosen, "name", str(planner)), lang=lang,
                        started=started.isoformat(timespec="seconds"), scores=scores, aggregate=agg, gate=gate,
                        gate_failures=gate_failures(agg, gate), out_dir=out, plots=plot_files,
                        attributions=attributions,
                        alarms=alarm_stats(alarm_record, now=plant_time) if alarm_record else None)
    report.sections = _sector_sections(report)
    report.files = write_reports(report, out)
    return report


def _sector_sections(report: EvalReport) -> list[str]:
    """The report sections of the sector pilot whose spec this is (found by entry point, never imported by name):
    each ``"module:function"`` in ``SectorPilot.report_sections`` gets the report and returns Markdown ("" = none)."""
    from factorypilot.pilots.sectors import load_object, sector_pilots

    spec = report.spec_path.resolve()
    refs = [ref for p in sector_pilots().values() if p.spec is not None and p.spec.resolve() == spec
            for ref in p.report_sections]
    sections = [str(load_object(ref)(report)) for ref in refs]
    return [s for s in sections if s.strip()]


def evaluate(pilot: str | Path, **kwargs: Any) -> EvalReport:
    """Synchronous :func:`aevaluate` (for scripts and the CLI)."""
    return asyncio.run(aevaluate(pilot, **kwargs))
