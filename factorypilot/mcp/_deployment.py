"""What one MCP server serves: pilots (each on its plant, owned by one company) and companies' documents.

Each served pilot gets an :class:`~factorypilot.agents.AgentRuntime` opened **without** the pilot's lease, so
the pilot service (``factorypilot pilot run``) keeps running beside the MCP server; the runtime only starts
runs for external proposals (they stop at the approval step) and applies decided ones when no service holds
the lease (``agents._external.apply_decided``). Every tool call is appended to the ledger (``mcp-call``) with
the client and token id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factorypilot._sqlite import open_sqlite, storage_error
from factorypilot.agents import AgentRuntime, Ledger
from factorypilot.agents._external import external_runtime
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConfigError, FactoryPilotError, SecurityError
from factorypilot.mcp._identity import Caller
from factorypilot.mcp._tokens import TokenStore
from factorypilot.pilots.spec import PilotSpec
from factorypilot.settings import get_settings

__all__ = ["Deployment", "PilotTarget", "ServedPilot"]

log = logging.getLogger("factorypilot.mcp")

_REFUSAL_QUIET_S = 60.0
"""a refused token id is put on the ledger at most once per this many seconds (per reason)"""

_PROPOSALS = """
CREATE TABLE IF NOT EXISTS mcp_proposals (
    request_id TEXT PRIMARY KEY, pilot TEXT NOT NULL, company TEXT NOT NULL, client TEXT NOT NULL,
    token_id TEXT, created TEXT NOT NULL
);
"""


@dataclass
class PilotTarget:
    """How to reach one pilot's plant (CLI options)."""

    spec: str
    endpoint: str | None = None
    bindings: dict[str, str] | None = None
    simulate: bool = False
    company: str | None = None


@dataclass
class ServedPilot:
    spec: PilotSpec
    spec_path: Path
    company: str
    runtime: AgentRuntime
    connector: BaseConnector[Any]

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class Deployment:
    home: Path
    pilots: dict[str, ServedPilot] = field(default_factory=dict)
    companies: set[str] = field(default_factory=set)
    stdio_propose: set[str] = field(default_factory=set)
    """pilots the local (stdio) user may propose to (``--allow-propose``)"""
    raw_node_ids: bool = False
    """``--allow-raw-node-ids``: read any node id on a pilot's plant connection, not only its bound tags"""
    ledger: Ledger | None = None
    tokens: TokenStore | None = None
    _db: sqlite3.Connection | None = None
    _knowledge: dict[str, Any] = field(default_factory=dict)
    _refusals: dict[tuple[str, str], float] = field(default_factory=dict)

    # -- scoping -----------------------------------------------------------------------------------
    def pilot_for(self, caller: Caller, pilot: str | None) -> ServedPilot:
        """The pilot a call names (or the caller's only pilot); another company's pilot does not exist."""
        visible = [p for p in self.pilots.values() if caller.sees(p.company)]
        if not visible:  # --company alone, or a token of a company that owns no pilot here
            what = ", ".join(sorted(c for c in self.companies if caller.sees(c)))
            raise ConfigError("this server serves no pilot to this client"
                              + (f", only the documents of {what}" if what else "")
                              + " / 이 클라이언트에 제공되는 파일럿이 없습니다"
                              + (f" ({what} 의 문서만 제공)" if what else ""),
                              hint=("use search_documents / 문서 검색만 가능합니다" if what else
                                    "start it with --pilot NAME, or use a token of the company that owns the pilot "
                                    "/ --pilot 으로 시작하거나 파일럿을 가진 회사의 토큰을 쓰십시오"))
        if pilot is None:
            if len(visible) == 1:
                return visible[0]
            raise ConfigError("this server serves several pilots: name one "
                              "/ 파일럿이 여럿입니다: pilot 을 지정하십시오",
                              hint="pilots / 파일럿: " + (", ".join(p.id for p in visible) or "none"))
        found = next((p for p in visible if pilot in (p.id, p.spec_path.parent.name)), None)
        if found is None:  # the same answer whether it exists for another company or not at all
            raise ConfigError(f"no pilot {pilot!r} for this client / 이 클라이언트에 {pilot!r} 파일럿이 없습니다",
                              hint="pilots / 파일럿: " + (", ".join(p.id for p in visible) or "none"))
        return found

    def company_for(self, caller: Caller, company: str | None) -> str:
        visible = sorted(c for c in self.companies if caller.sees(c))
        if company is None:
            if len(visible) == 1:
                return visible[0]
            raise ConfigError("name the company whose documents to search / 검색할 회사를 지정하십시오",
                              hint="companies / 회사: " + (", ".join(visible) or "none"))
        if company not in visible:
            raise ConfigError(f"no company {company!r} for this client / 이 클라이언트에 {company!r} 회사가 없습니다",
                              hint="companies / 회사: " + (", ".join(visible) or "none"))
        return company

    def may_propose(self, caller: Caller, pilot: ServedPilot) -> bool:
        if caller.token is None:
            return pilot.id in self.stdio_propose
        return caller.token.may_propose(pilot.id)

    def require_propose(self, caller: Caller, pilot: ServedPilot) -> None:
        if not self.may_propose(caller, pilot):
            how = (f"start the server with --allow-propose {pilot.id}" if caller.token is None else
                   f"ask for a token with: factorypilot mcp token create --company {pilot.company} "
                   f"--scope propose --pilot {pilot.id}")
            how += " / 읽기 전용 권한입니다: 제안 권한은 파일럿마다 따로 줍니다"
            raise SecurityError(f"client {caller.client!r} has read-only access to pilot {pilot.id!r} "
                                f"/ {caller.client!r} 클라이언트는 {pilot.id!r} 파일럿을 읽기만 할 수 있습니다",
                                hint=how)

    # -- knowledge ---------------------------------------------------------------------------------
    def knowledge(self, company: str) -> Any:
        if company not in self._knowledge:
            from factorypilot.knowledge import KnowledgeStore

            if not KnowledgeStore.exists(company, home=self.home):
                raise ConfigError(f"company {company!r} has no documents yet / {company!r} 회사의 문서가 아직 없습니다",
                                  hint=f"add some with: factorypilot knowledge ingest DOCS --company {company} "
                                       "/ 문서를 먼저 넣으십시오")
            assist = None
            if get_settings().knowledge_llm:  # the local model as in the CLI and the pilot runtime (docs/knowledge.md)
                from factorypilot.agents.knowledge_llm import knowledge_assist

                assist = knowledge_assist()
            self._knowledge[company] = KnowledgeStore.open(company, home=self.home, assist=assist)
        return self._knowledge[company]

    # -- bookkeeping -------------------------------------------------------------------------------
    def audit(self, caller: Caller, tool: str, args: dict[str, Any], outcome: str,
              pilot: str | None = None) -> None:
        """One ledger record per tool call: who (client, token), what, on which pilot, and how it ended."""
        if self.ledger is None:
            return
        text = json.dumps(args, ensure_ascii=False, default=str)
        self.ledger.append("mcp-call", {"tool": tool, "client": caller.client, "token_id": caller.token_id,
                                        "transport": caller.transport, "company": caller.company, "pilot": pilot,
                                        "args": text[:500], "outcome": outcome[:300]})

    def refused(self, token: str, error: FactoryPilotError) -> None:
        """A request refused for its token: on the ledger when the token id is known (a revoked or stolen-id
        token), at most once a minute per token id and reason; unknown or malformed tokens are only logged."""
        if self.ledger is None or self.tokens is None:
            return
        token_id = self.tokens.known_id(token)
        if token_id is None:
            return
        now = time.monotonic()
        key = (token_id, error.message)
        if now - self._refusals.get(key, -_REFUSAL_QUIET_S) < _REFUSAL_QUIET_S:
            return
        self._refusals[key] = now
        info = self.tokens.get(token_id)
        self.ledger.append("mcp-refused", {"token_id": token_id, "client": info.client if info else None,
                                           "company": info.company if info else None, "transport": "http",
                                           "reason": error.message[:300]})

    def record_proposal(self, request_id: str, pilot: ServedPilot, caller: Caller) -> None:
        assert self._db is not None
        self._db.execute("INSERT OR IGNORE INTO mcp_proposals VALUES (?,?,?,?,?,?)",
                         (request_id, pilot.id, pilot.company, caller.client, caller.token_id,
                          datetime.now(UTC).isoformat()))

    def proposal(self, request_id: str) -> tuple[str, str] | None:
        """(pilot, company) of a request made over MCP, or None."""
        assert self._db is not None
        r = self._db.execute("SELECT pilot, company FROM mcp_proposals WHERE request_id = ?",
                             (request_id,)).fetchone()
        return (r[0], r[1]) if r else None

    def is_proposal(self, request_id: str) -> bool:
        return self.proposal(request_id) is not None


@contextlib.asynccontextmanager
async def open_deployment(targets: list[PilotTarget], *, home: Path, company: str | None = None,
                          stdio_propose: list[str] | None = None, raw_node_ids: bool = False) -> Any:
    """Open every target's plant and runtime; yields a :class:`Deployment`."""
    from factorypilot.connectors.registry import create
    from factorypilot.pilots.runtime import resolve_spec

    Path(home).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    dep = Deployment(home=home, stdio_propose=set(stdio_propose or []), raw_node_ids=raw_node_ids)
    async with contextlib.AsyncExitStack() as stack:
        dep.tokens = TokenStore(home / "mcp.sqlite")
        stack.callback(dep.tokens.close)
        path = home / "mcp.sqlite"
        db = open_sqlite(path)
        try:
            db.executescript(_PROPOSALS)
        except sqlite3.Error as exc:
            raise storage_error(path, exc, "prepare") from exc
        dep._db = db
        stack.callback(db.close)
        dep.ledger = Ledger(home / "ledger.sqlite", anchor_db=home / "agent.sqlite")
        stack.callback(dep.ledger.close)
        if company:
            dep.companies.add(company)
            if not targets:  # --company alone: that company's documents are all there is to serve
                dep.knowledge(company)
        for target in targets:
            spec, spec_path = resolve_spec(target.spec)
            endpoint, bindings = target.endpoint, target.bindings
            if target.simulate and not endpoint:
                from factorypilot.pilots.simulator import PlantSimulator

                if spec.simulator is None:
                    raise ConfigError(f"pilot {spec.id!r} names no simulator model", hint="drop --simulate")
                sim = await stack.enter_async_context(PlantSimulator(
                    spec.simulator.model, seed=spec.simulator.seed, tick_seconds=spec.simulator.tick_seconds))
                endpoint = sim.endpoint
                bindings = bindings or spec.simulator_bindings(sim.roles(), sim.method_ids())
            if endpoint:
                cfg = dict(spec.connector.config) if spec.connector and spec.connector.type == "opcua" else {}
                cfg.pop("endpoints", None)
                connector = await stack.enter_async_context(create("opcua", cfg | {"endpoint": endpoint}))
            elif spec.connector is not None:
                connector = await stack.enter_async_context(create(spec.connector.type, spec.connector.config))
            else:
                raise ConfigError(f"pilot {spec.id!r} has no plant to connect to",
                                  hint="pass --endpoint opc.tcp://... (and --bindings), or --simulate")
            unknown = sorted(set(bindings or {}) - set(spec.roles))
            if unknown:
                raise ConfigError(f"bindings name role(s) pilot {spec.id!r} does not have: {', '.join(unknown)}",
                                  hint=f"roles: {', '.join(spec.roles)}")
            rehearsal = None
            if spec.policy.dry_run_on_simulator and spec.simulator is not None:  # as open_pilot does
                from factorypilot.pilots.simulator import PlantSimulator

                twin_sim = await stack.enter_async_context(PlantSimulator(
                    spec.simulator.model, seed=spec.simulator.seed, tick_seconds=spec.simulator.tick_seconds))
                twin = await stack.enter_async_context(create("opcua", {"endpoint": twin_sim.endpoint}))
                rehearsal = (twin, spec.simulator_bindings(twin_sim.roles(), twin_sim.method_ids()))
            runtime = AgentRuntime(spec.agent_config(bindings), connector, home=home, lease=False,
                                   rehearsal=rehearsal)
            rt = await stack.enter_async_context(runtime)
            owner = target.company or company or spec.id
            dep.pilots[spec.id] = ServedPilot(spec, spec_path, owner, external_runtime(rt), connector)
            dep.companies.add(owner)
        stack.callback(lambda: [k.close() for k in dep._knowledge.values()])
        yield dep
