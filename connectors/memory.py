"""``InMemoryConnector``: the reference fake. Every capability, no I/O.

Tests and examples use it where a plant is beside the point; it passes the same contract suite as the
real connectors. ``set_value`` plays the plant's part; ``outage()`` simulates a comms drop so consumers see
a ``Gap``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Iterator
from datetime import datetime

from pydantic import Field

from factorypilot.connectors._events import AlarmDeduplicator, EventFilter
from factorypilot.connectors.base import BaseConnector, Capability, ConnectorConfig
from factorypilot.errors import ConnectionError_, DataError, NodeNotFoundError, SafetyViolation
from factorypilot.vocabulary import AlarmEvent, DataType, Gap, Sample, Scalar, Tag, utcnow

__all__ = ["InMemoryConnector"]


class InMemoryConfig(ConnectorConfig):
    tags: list[Tag] = Field(default_factory=list)
    values: dict[str, Scalar] = Field(default_factory=dict, description="initial values by tag id")
    methods: list[str] = Field(default_factory=list, description="method ids that can be called")


def _coerce(tag: Tag, value: Scalar) -> Scalar:
    try:
        if tag.data_type is DataType.FLOAT:
            return float(value)  # type: ignore[arg-type]
        if tag.data_type is DataType.INTEGER:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{value} is not an integer")
            return int(value)  # type: ignore[arg-type]
        if tag.data_type is DataType.BOOLEAN:
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "on", "yes"}
            return bool(value)
        if tag.data_type is DataType.STRING:
            return str(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot write {value!r} to {tag.data_type.value} tag: {exc}", column=tag.id) from exc
    return value


class InMemoryConnector(BaseConnector[InMemoryConfig]):
    name = "memory"
    Config = InMemoryConfig
    capabilities = frozenset(Capability) - {Capability.EXPORT_FILES}

    def __init__(self, config: InMemoryConfig | None = None) -> None:
        super().__init__(config or InMemoryConfig())
        self._tags = {t.id: t for t in self.config.tags}
        self._values: dict[str, Scalar] = {t.id: self.config.values.get(t.id) for t in self.config.tags}
        self._log: dict[str, list[Sample]] = {t: [] for t in self._tags}
        self._listeners: list[asyncio.Queue[Sample | Gap]] = []
        self._alarms: dict[str, AlarmEvent] = {}
        self._alarm_listeners: list[asyncio.Queue[AlarmEvent | Gap]] = []
        self._down_since: datetime | None = None
        self.calls: list[tuple[str, list[Scalar]]] = []
        self.writes: list[tuple[str, Scalar]] = []
        self.acks: list[tuple[str, str, str]] = []
        for tid, v in self._values.items():
            self._log[tid].append(Sample(tag_id=tid, value=v, source_time=utcnow()))

    async def _connect(self) -> None:
        return None

    async def _close(self) -> None:
        return None

    # -- the plant's side --------------------------------------------------------------------------
    def set_value(self, tag_id: str, value: Scalar) -> None:
        """Change a value as the plant would; subscribers see it."""
        self._tag(tag_id)
        self._values[tag_id] = value
        sample = Sample(tag_id=tag_id, value=value, source_time=utcnow(), server_time=utcnow())
        self._log[tag_id].append(sample)
        if self._down_since is None:
            for q in self._listeners:
                q.put_nowait(sample)

    def raise_alarm(self, event: AlarmEvent) -> None:
        """Report an alarm state as the plant would (a new alarm, a change, or its return to normal)."""
        if event.retain:
            self._alarms[event.condition_id] = event
        else:
            self._alarms.pop(event.condition_id, None)
        if self._down_since is None:
            for q in self._alarm_listeners:
                q.put_nowait(event)

    def retained_alarms(self) -> list[AlarmEvent]:
        """The alarms the plant holds now (what a ConditionRefresh returns)."""
        return list(self._alarms.values())

    @contextlib.contextmanager
    def outage(self, reason: str = "simulated outage") -> Iterator[None]:
        """While inside, nothing is delivered; on exit every subscriber receives a ``Gap``."""
        self._down_since = utcnow()
        try:
            yield
        finally:
            gap = Gap(connector=self.name, tag_ids=tuple(self._tags), start=self._down_since,
                      end=utcnow(), reason=reason)
            self._down_since = None
            for q in self._listeners:
                q.put_nowait(gap)
                for tid, v in self._values.items():
                    q.put_nowait(Sample(tag_id=tid, value=v, source_time=utcnow()))
            for aq in self._alarm_listeners:
                aq.put_nowait(gap.model_copy(update={"tag_ids": ()}))
                for alarm in self._alarms.values():  # the refresh after reconnect
                    aq.put_nowait(alarm.model_copy(update={"refreshed": True}))

    # -- connector hooks ---------------------------------------------------------------------------
    def _tag(self, tag_id: str) -> Tag:
        try:
            return self._tags[tag_id]
        except KeyError:
            raise NodeNotFoundError(f"unknown tag {tag_id!r}", where=f"connector {self.name!r}",
                                    hint="browse() lists the tags this connector has") from None

    async def _browse(self) -> list[Tag]:
        return list(self._tags.values())

    async def _read(self, tag_ids: list[str]) -> list[Sample]:
        if self._down_since is not None:
            raise ConnectionError_("in-memory plant is in a simulated outage")
        now = utcnow()
        return [Sample(tag_id=t, value=self._values[self._tag(t).id], source_time=now, server_time=now)
                for t in tag_ids]

    async def _subscribe(self, tag_ids: list[str], period: float) -> AsyncGenerator[Sample | Gap, None]:
        wanted = {self._tag(t).id for t in tag_ids}
        queue: asyncio.Queue[Sample | Gap] = asyncio.Queue()
        self._listeners.append(queue)
        try:
            for tid in tag_ids:
                yield Sample(tag_id=tid, value=self._values[tid], source_time=utcnow())
            while True:
                item = await queue.get()
                if isinstance(item, Gap):
                    yield item.model_copy(update={"tag_ids": tuple(t for t in item.tag_ids if t in wanted)})
                elif item.tag_id in wanted:
                    yield item
        finally:
            self._listeners.remove(queue)

    async def _history(self, tag_ids: list[str], start: datetime, end: datetime) -> list[Sample]:
        out: list[Sample] = []
        for tid in tag_ids:
            self._tag(tid)
            out += [s for s in self._log[tid] if s.time is not None and start <= s.time <= end]
        return out

    async def _events(self, sources: list[str], filter: EventFilter) -> AsyncGenerator[AlarmEvent | Gap, None]:
        queue: asyncio.Queue[AlarmEvent | Gap] = asyncio.Queue()
        self._alarm_listeners.append(queue)
        dedup = AlarmDeduplicator()

        def wanted(ev: AlarmEvent) -> bool:
            return filter.accepts(ev) and (not sources or ev.source_node in sources) and dedup.admit(ev)

        try:
            if filter.refresh:
                for alarm in list(self._alarms.values()):
                    ev = alarm.model_copy(update={"refreshed": True})
                    if wanted(ev):
                        yield ev
            while True:
                item = await queue.get()
                if isinstance(item, Gap) or wanted(item):
                    yield item
        finally:
            self._alarm_listeners.remove(queue)

    async def _alarm_state(self, condition_id: str, branch_id: str | None) -> AlarmEvent | None:
        if self._down_since is not None:
            raise ConnectionError_("in-memory plant is in a simulated outage")
        return self._alarms.get(condition_id) if branch_id is None else None  # no branches in memory

    async def _acknowledge(self, condition_id: str, event_id: str, comment: str, *, confirm: bool,
                           branch_id: str | None) -> AlarmEvent | None:
        if self._down_since is not None:
            raise ConnectionError_("in-memory plant is in a simulated outage")
        alarm = self._alarms.get(condition_id) if branch_id is None else None
        if alarm is None:
            raise NodeNotFoundError(f"no retained alarm {condition_id!r}", where=f"connector {self.name!r}")
        if alarm.event_id != event_id:
            raise DataError(f"alarm {condition_id} has no event {event_id!r} (BadEventIdUnknown)", column=condition_id)
        field = "confirmed" if confirm else "acked"
        if getattr(alarm, field):
            raise DataError(f"alarm {condition_id} is already {'confirmed' if confirm else 'acknowledged'}",
                            column=condition_id)
        self.acks.append((condition_id, "confirm" if confirm else "acknowledge", comment))
        new = alarm.model_copy(update={field: True, "event_id": f"{event_id}-{field}", "time": utcnow(),
                                       "refreshed": False})
        new = new.model_copy(update={"retain": new.active or not new.acked or not new.confirmed})
        self.raise_alarm(new)
        return new

    async def _write(self, tag_id: str, value: Scalar) -> None:
        tag = self._tag(tag_id)
        if not tag.writable:
            raise SafetyViolation(f"tag {tag_id!r} is read-only on the device", where=tag_id)
        coerced = _coerce(tag, value)
        if tag.limits and isinstance(coerced, int | float) and not tag.limits.contains(float(coerced)):
            raise DataError(f"value {coerced} outside device limits {tag.limits.low}..{tag.limits.high}",
                            column=tag_id)
        self.writes.append((tag_id, coerced))
        self.set_value(tag_id, coerced)

    async def _call(self, object_id: str | None, method_id: str, args: list[Scalar]) -> list[Scalar]:
        if method_id not in self.config.methods:
            raise NodeNotFoundError(f"unknown method {method_id!r}", where=f"connector {self.name!r}")
        self.calls.append((method_id, args))
        return [True]
