"""Wiring a :class:`PilotSpec` to a plant: connector, knowledge, agent runtime.

``open_pilot`` is what ``factorypilot pilot run``, the demo, the evaluation harness and the template flow
share. Reference pilots ship inside the package (``factorypilot.pilots.<sector>/pilot.yaml``) and are found, like a
third party's, through the ``factorypilot.pilots`` entry points (:mod:`factorypilot.pilots.sectors`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from factorypilot.agents import AgentConfig, AgentRuntime, Planner
from factorypilot.connectors.base import BaseConnector
from factorypilot.connectors.registry import create
from factorypilot.errors import ConfigError
from factorypilot.pilots.sectors import sector_pilots
from factorypilot.pilots.spec import PilotSpec, load_spec
from factorypilot.settings import get_settings

__all__ = ["KnowledgeRetriever", "open_pilot", "reference_pilots", "resolve_spec"]

log = logging.getLogger("factorypilot.pilots")


def reference_pilots() -> dict[str, Path]:
    """Installed sector pilots with a spec, by name → their ``pilot.yaml``: the reference pilots shipped with
    factorypilot (``mobility`` ...) and any registered by a third party in the ``factorypilot.pilots`` group."""
    return {name: p.spec for name, p in sector_pilots().items() if p.spec is not None}


def resolve_spec(name_or_path: str | Path) -> tuple[PilotSpec, Path]:
    """A spec from a file path, or a reference pilot by name (``mobility``) or id (``mobility-cnc``)."""
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "pilot.yaml"
    if not path.exists():
        refs = reference_pilots()
        by_id = {load_spec(p).id: p for p in refs.values()} if str(name_or_path) not in refs else {}
        found = refs.get(str(name_or_path)) or by_id.get(str(name_or_path))
        if found is None:
            raise ConfigError(f"no pilot spec {str(name_or_path)!r}",
                              hint=f"give a path to pilot.yaml or one of: {', '.join(refs) or 'none'}")
        path = found
    return load_spec(path), path


class KnowledgeRetriever:
    """Adapts a company's ``KnowledgeStore`` to the agent's ``Retriever`` protocol."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def search(self, query: str, k: int = 3) -> list[dict[str, Any]]:
        """Hits with citations; ``answerable`` False on every hit when the store found no answer (weak
        evidence), so the planner context can say "no answer in the documents" instead of quoting them."""
        answer = await self.store.aask(query, k=k)
        judged_no = answer.llm is not None and answer.llm.judge == "not answered"
        return [{"text": h.text[:600], "citation": str(h.citation), "score": h.score,
                 "answerable": answer.answerable, **({"why": "judged by the local model"} if judged_no else {})}
                for h in answer.hits]


async def _knowledge(spec: PilotSpec, spec_path: Path, company: str, home: Path) -> KnowledgeRetriever | None:
    if not spec.knowledge:
        return None
    from factorypilot.knowledge import KnowledgeStore

    assist = None
    if get_settings().knowledge_llm:  # judge + ko/en translation by the planner's model (docs/knowledge.md)
        from factorypilot.agents.knowledge_llm import knowledge_assist

        assist = knowledge_assist(spec.planner)
    store = KnowledgeStore.open(company, home=home, assist=assist)
    paths = [spec_path.parent / p for p in spec.knowledge]
    report = await store.aingest([p for p in paths if p.exists()])
    log.info("knowledge for %s: %s", company, report)
    return KnowledgeRetriever(store)


async def _rehearsal_plant(spec: PilotSpec, stack: contextlib.AsyncExitStack
                           ) -> tuple[BaseConnector[Any], dict[str, str]] | None:
    """The spec's simulator model, started in-process, for dry runs before writes reach the real plant."""
    if spec.simulator is None:
        log.warning("pilot %s asks for dry runs but names no simulator model: writes will be refused", spec.id)
        return None
    from factorypilot.pilots.simulator import PlantSimulator

    sim = await stack.enter_async_context(PlantSimulator(spec.simulator.model, seed=spec.simulator.seed,
                                                         tick_seconds=spec.simulator.tick_seconds))
    twin = await stack.enter_async_context(create("opcua", {"endpoint": sim.endpoint}))
    return twin, spec.simulator_bindings(sim.roles(), sim.method_ids())


def _planner(spec: PilotSpec, config: AgentConfig, kind: str, connector: BaseConnector[Any],
             retriever: KnowledgeRetriever | None) -> Planner | None:
    if kind not in ("auto", "playbook", "llm"):
        raise ConfigError(f"unknown planner {kind!r}", hint="use playbook, llm or auto")
    if kind == "playbook" or (kind == "auto" and spec.planner is None):
        return None  # the runtime's default: PlaybookPlanner
    if spec.planner is None:
        raise ConfigError(f"pilot {spec.id!r} configures no LLM planner",
                          hint="add 'planner: {type: llm, provider: openai, model: ..., base_url: ...}' to the spec")
    from factorypilot.agents.planners.llm import LLMPlanner

    return LLMPlanner.from_config(spec.planner, config, connector=connector, retriever=retriever)


@contextlib.asynccontextmanager
async def open_pilot(spec: PilotSpec, spec_path: Path, *, connector: BaseConnector[Any] | None = None,
                     bindings: dict[str, str] | None = None, home: Path | None = None, company: str | None = None,
                     planner: Planner | None = None, knowledge: bool = True,
                     checkpointer_url: str | None = None,
                     planner_kind: str = "auto") -> AsyncIterator[AgentRuntime]:
    """An entered :class:`AgentRuntime` for ``spec`` on a plant (the given connector, or the spec's).

    ``planner_kind``: ``playbook``, ``llm`` (needs the spec's ``planner:`` block) or ``auto`` (LLM when the
    spec configures one, else playbooks).
    """
    home = Path(home or get_settings().home)
    config = spec.agent_config(bindings)
    async with contextlib.AsyncExitStack() as stack:
        if connector is None:
            if spec.connector is None:
                raise ConfigError(f"pilot {spec.id!r} names no connector",
                                  hint="add 'connector: {type: opcua, config: {endpoint: ...}}' to the spec")
            connector = create(spec.connector.type, spec.connector.config)
            await stack.enter_async_context(connector)
        retriever = await _knowledge(spec, spec_path, company or spec.id, home) if knowledge else None
        rehearsal = await _rehearsal_plant(spec, stack) if spec.policy.dry_run_on_simulator else None
        if planner is None:
            planner = _planner(spec, config, planner_kind, connector, retriever)
        runtime = AgentRuntime(config, connector, home=home, planner=planner, retriever=retriever,
                               checkpointer_url=checkpointer_url, rehearsal=rehearsal,
                               tag_meta=spec.tag_meta(config.roles))  # units/ranges for an LLM planner's prompt
        yield await stack.enter_async_context(runtime)
