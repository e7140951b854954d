"""The connector interface every plant data source implements.

Shape borrowed from the meltano SDK: a connector *declares* its :class:`Capability` set and its
``Config`` schema (pydantic, ``extra="forbid"``, secrets as ``SecretStr``); the framework checks calls
against the declaration, and ``factorypilot.testing.ConnectorContract`` checks behaviour.

Subclasses implement the underscore hooks (``_connect``, ``_read`` ...). The public methods here add the
checks that must not depend on each connector getting them right: capability checks, connection state, and
the write permit (writes only ever come from the safety layer).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from factorypilot.connectors._events import EventFilter
from factorypilot.errors import CapabilityError, ConnectionError_
from factorypilot.permits import WritePermit
from factorypilot.vocabulary import ActionKind, ActionRequest, AlarmEvent, Gap, Sample, Scalar, Tag

__all__ = ["BaseConnector", "Capability", "ConnectorConfig", "EventFilter", "Health"]


class Capability(StrEnum):
    BROWSE = "browse"
    READ = "read"
    SUBSCRIBE = "subscribe"
    HISTORY = "history"
    WRITE = "write"
    METHOD = "method"
    EXPORT_FILES = "export-files"
    EVENTS = "events"
    ACKNOWLEDGE = "acknowledge"


class ConnectorConfig(BaseModel):
    """Base of every connector's ``Config``: unknown keys are an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Health(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    connector: str
    detail: str = ""
    endpoint: str | None = None


ConfigT = TypeVar("ConfigT", bound="ConnectorConfig")


class BaseConnector(abc.ABC, Generic[ConfigT]):
    """Async context manager around one plant data source.

    ``async with MyConnector(MyConnector.Config(...)) as c: await c.read([...])``
    """

    name: ClassVar[str] = "base"
    """Kebab-case id, the same as the entry-point name."""
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, config: ConfigT) -> None:
        self.config = config
        self._connected = False

    # -- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        if not self._connected:
            await self._connect()
            self._connected = True

    async def close(self) -> None:
        if self._connected:
            self._connected = False
            await self._close()

    @property
    def connected(self) -> bool:
        return self._connected

    def _need(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise CapabilityError(f"connector {self.name!r} does not support {capability.value}",
                                  hint=f"its capabilities are: {sorted(c.value for c in self.capabilities)}")
        if not self._connected:
            raise ConnectionError_(f"connector {self.name!r} is not connected",
                                   hint="use it as 'async with connector:' or call connect() first")

    # -- public operations -------------------------------------------------------------------------
    async def browse(self) -> list[Tag]:
        self._need(Capability.BROWSE)
        return await self._browse()

    async def read(self, tag_ids: Sequence[str]) -> list[Sample]:
        """Current values, one sample per id, in the order asked. Unknown ids raise ``NodeNotFoundError``."""
        self._need(Capability.READ)
        if not tag_ids:
            return []
        return await self._read(list(tag_ids))

    def subscribe(self, tag_ids: Sequence[str], period: float = 1.0) -> AsyncGenerator[Sample | Gap, None]:
        """Samples as they change (the current value of each tag first), and a ``Gap`` for every outage.

        Close the iterator (``contextlib.aclosing``) to end the subscription.
        """
        self._need(Capability.SUBSCRIBE)
        return self._subscribe(list(tag_ids), period)

    def events(self, sources: Sequence[str] | None = None,
               filter: EventFilter | None = None) -> AsyncGenerator[AlarmEvent | Gap, None]:
        """Alarm events (OPC UA Alarms & Conditions) from ``sources`` (notifier ids; None: the whole server).

        Alarms already active come first, marked ``refreshed``; then every state change; a ``Gap`` for every
        outage, followed by the alarms active after it (a state already delivered is not delivered again).
        Close the iterator (``contextlib.aclosing``) to end the subscription.
        """
        self._need(Capability.EVENTS)
        return self._events(list(sources or []), filter or EventFilter())

    async def alarm_state(self, condition_id: str, branch_id: str | None = None, *,
                          known_event: str | None = None) -> AlarmEvent | None:
        """The current state of one alarm (its main branch, or condition branch ``branch_id``) as the server holds
        it (a read: used to check and read back an acknowledgement). None when the server does not hold it any
        more (not retained, and not readable in its address space).

        ``known_event``: the hex EventId of a state the server itself announced for this alarm (the proposed
        alarm's, or the event it sent right after an acknowledgement). A connector may then answer from a
        cheaper source that carries exactly that EventId (OPC UA: the condition's own variables instead of a
        ConditionRefresh of every retained alarm); the state it returns (EventId, acknowledged, confirmed,
        active, retained, severity) must be the one the server holds, as without it."""
        self._need(Capability.EVENTS)
        if known_event is not None:
            return await self._alarm_state_known(condition_id, branch_id, known_event)
        return await self._alarm_state(condition_id, branch_id)

    async def acknowledge(self, request: ActionRequest, permit: WritePermit) -> AlarmEvent | None:
        """Acknowledge (or confirm) an alarm: OPC UA ``Acknowledge``/``Confirm`` with the EventId and a comment.

        Needs a permit from the safety layer, like ``write``. Returns once the server accepted the call, with
        the state event the server sent for that condition (and branch) with AckedState (ConfirmedState) true,
        if one arrived (evidence for the read-back when the server stops holding the alarm); None otherwise.
        Confirmation is a separate read-back of ``alarm_state``.
        """
        self._need(Capability.ACKNOWLEDGE)
        if not request.is_alarm:
            raise CapabilityError(f"acknowledge() got a {request.kind.value} request", where=request.target)
        if len(request.args) not in (1, 2) or not all(isinstance(a, str) for a in request.args):
            raise CapabilityError("an acknowledge request needs args=(EventId hex,) or (EventId hex, BranchId)",
                                  where=request.target,
                                  hint="take the EventId (and branch_id) from the AlarmEvent being acknowledged")
        permit.check(request)
        return await self._acknowledge(request.target, str(request.args[0]), str(request.value or ""),
                                       confirm=request.kind is ActionKind.CONFIRM, branch_id=request.alarm_branch)

    async def history(self, tag_ids: Sequence[str], start: datetime, end: datetime) -> list[Sample]:
        self._need(Capability.HISTORY)
        return await self._history(list(tag_ids), start, end)

    async def event_history(self, sources: Sequence[str] | None, start: datetime, end: datetime,
                            filter: EventFilter | None = None) -> list[AlarmEvent]:
        """The alarm events the plant itself stored between ``start`` and ``end`` (aware), oldest first
        (OPC UA HistoryRead of events from ``sources``; None: the Server object).

        ``CapabilityError`` when the server keeps no event history (value history is separate).
        """
        self._need(Capability.EVENTS)
        self._need(Capability.HISTORY)
        return await self._event_history(list(sources or []), start, end, filter or EventFilter(refresh=False))

    async def write(self, request: ActionRequest, permit: WritePermit) -> None:
        """Write ``request.value`` to ``request.target``. Needs a permit from the safety layer.

        Returns once the server accepted the write; confirmation is a separate read-back (``verify``).
        """
        self._need(Capability.WRITE)
        if request.kind is not ActionKind.WRITE:
            raise CapabilityError(f"write() got a {request.kind.value} request", where=request.target)
        permit.check(request)
        await self._write(request.target, request.value)

    async def call(self, request: ActionRequest, permit: WritePermit) -> list[Scalar]:
        """Call a method (OPC UA Call service). Needs a permit, like ``write``."""
        self._need(Capability.METHOD)
        if request.kind is not ActionKind.METHOD:
            raise CapabilityError(f"call() got a {request.kind.value} request", where=request.target)
        permit.check(request)
        return await self._call(request.object_id, request.target, list(request.args))

    async def records(self, kind: str, *, since: datetime | None = None,
                      filters: Mapping[str, Scalar] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Records of one ``kind`` (e.g. ``production``, ``downtime``) from file exports (``EXPORT_FILES``).

        ``since`` keeps records at or after that (aware) time; ``filters`` are field == value; rows are
        plain dicts of the kind's canonical fields, oldest first.
        """
        self._need(Capability.EXPORT_FILES)
        return await self._records(kind, since=since, filters=dict(filters or {}), limit=limit)

    async def health(self) -> Health:
        return Health(ok=self._connected, connector=self.name,
                      detail="connected" if self._connected else "not connected")

    # -- hooks for subclasses ----------------------------------------------------------------------
    @abc.abstractmethod
    async def _connect(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...

    async def _browse(self) -> list[Tag]:
        raise NotImplementedError

    async def _read(self, tag_ids: list[str]) -> list[Sample]:
        raise NotImplementedError

    def _subscribe(self, tag_ids: list[str], period: float) -> AsyncGenerator[Sample | Gap, None]:
        raise NotImplementedError

    async def _history(self, tag_ids: list[str], start: datetime, end: datetime) -> list[Sample]:
        raise NotImplementedError

    def _events(self, sources: list[str], filter: EventFilter) -> AsyncGenerator[AlarmEvent | Gap, None]:
        raise NotImplementedError

    async def _event_history(self, sources: list[str], start: datetime, end: datetime,
                             filter: EventFilter) -> list[AlarmEvent]:
        raise CapabilityError(f"connector {self.name!r} keeps no event history",
                              hint="value history (history()) may still be available")

    async def _alarm_state(self, condition_id: str, branch_id: str | None) -> AlarmEvent | None:
        raise NotImplementedError

    async def _alarm_state_known(self, condition_id: str, branch_id: str | None,
                                 known_event: str) -> AlarmEvent | None:
        """``alarm_state`` with a known EventId; by default the same read as without it."""
        return await self._alarm_state(condition_id, branch_id)

    async def _acknowledge(self, condition_id: str, event_id: str, comment: str, *, confirm: bool,
                           branch_id: str | None) -> AlarmEvent | None:
        raise NotImplementedError

    async def _write(self, tag_id: str, value: Scalar) -> None:
        raise NotImplementedError

    async def _call(self, object_id: str | None, method_id: str, args: list[Scalar]) -> list[Scalar]:
        raise NotImplementedError

    async def _records(self, kind: str, *, since: datetime | None, filters: dict[str, Scalar],
                       limit: int | None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "capabilities": sorted(c.value for c in self.capabilities)}
