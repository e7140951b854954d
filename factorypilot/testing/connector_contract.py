"""The connector contract suite.

Usage in a connector's own test module::

    from factorypilot.testing import ConnectorContract, WriteCase

    class TestMyConnector(ConnectorContract):
        @pytest.fixture
        def make_connector(self):
            return lambda: MyConnector(MyConnector.Config(endpoint=...))

        @pytest.fixture
        def write_case(self):            # optional: a writable tag and a value it accepts
            return WriteCase(tag_id="ns=2;s=Feed", value=85.0)

        @pytest.fixture
        def alarm_case(self):            # optional (EVENTS): how the test makes the plant raise/clear an alarm
            return AlarmCase(raise_alarm=lambda c: plant.inject(...), clear_alarm=lambda c: plant.clear(...))

Each test runs its own event loop (``asyncio.run``), so no pytest async plugin is needed; a server the
connector talks to must therefore run in another thread or process (the simulator's ``running_plant``
helper does exactly that).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError

from factorypilot._mint import mint
from factorypilot.connectors.base import BaseConnector, Capability
from factorypilot.errors import CapabilityError, ConnectionError_, FactoryPilotError, NodeNotFoundError
from factorypilot.permits import WritePermit
from factorypilot.vocabulary import ActionKind, ActionRequest, AlarmEvent, Gap, Sample, Scalar

__all__ = ["AlarmCase", "ConnectorContract", "WriteCase", "permit_for_tests"]

T = TypeVar("T")
MakeConnector = Callable[[], BaseConnector[Any]]
_TIMEOUT = 20.0


@dataclass(frozen=True)
class WriteCase:
    tag_id: str
    value: Scalar


@dataclass(frozen=True)
class AlarmCase:
    """How the contract makes the plant raise and clear one alarm (``EVENTS``).

    Both take the connector under test (for a fake, the connector *is* the plant) and act synchronously: when
    they return, the plant has changed the alarm's state. ``message_contains`` is a piece of its message.
    """

    raise_alarm: Callable[[BaseConnector[Any]], None]
    clear_alarm: Callable[[BaseConnector[Any]], None]
    message_contains: str = ""


def permit_for_tests(request: ActionRequest) -> WritePermit:
    """A permit that bypasses policy, for connector contract tests only. Never use it in a pilot."""
    return mint(request, policy="contract-test")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, _TIMEOUT)

    return asyncio.run(bounded())


class ConnectorContract:
    """Behaviour every connector must have. Override ``make_connector`` (and ``write_case`` if writable)."""

    unknown_tag_id: str = "ns=99;s=__factorypilot_contract_missing__"

    @pytest.fixture
    def make_connector(self) -> MakeConnector:
        pytest.fail("override the `make_connector` fixture: it returns a zero-argument factory")

    @pytest.fixture
    def write_case(self) -> WriteCase | None:
        return None

    @pytest.fixture
    def alarm_case(self) -> AlarmCase | None:
        return None

    # -- identity and config -----------------------------------------------------------------------
    def test_declares_identity(self, make_connector: MakeConnector) -> None:
        c = make_connector()
        assert re.fullmatch(r"[a-z][a-z0-9-]*", c.name), f"name {c.name!r} must be kebab-case"
        assert c.capabilities, "a connector declares at least one capability"
        assert all(isinstance(x, Capability) for x in c.capabilities)
        assert c.Config.model_config.get("extra") == "forbid", "Config must reject unknown keys"

    def test_config_rejects_unknown_keys(self, make_connector: MakeConnector) -> None:
        c = make_connector()
        data = c.config.model_dump()
        data["__no_such_key__"] = 1
        with pytest.raises(ValidationError, match="__no_such_key__"):
            c.Config.model_validate(data)

    def test_secrets_do_not_leak_in_repr(self, make_connector: MakeConnector) -> None:
        c = make_connector()
        for field, value in c.config:
            if "password" in field or "secret" in field or "token" in field:
                assert value is None or "SecretStr" in type(value).__name__, f"{field} must be a SecretStr"

    # -- lifecycle ---------------------------------------------------------------------------------
    def test_context_manager_connects_and_closes(self, make_connector: MakeConnector) -> None:
        async def go() -> None:
            c = make_connector()
            async with c:
                assert c.connected
                assert (await c.health()).ok
            assert not c.connected
            assert not (await c.health()).ok
            await c.close()  # closing twice is harmless

        _run(go())

    def test_operations_need_a_connection(self, make_connector: MakeConnector) -> None:
        c = make_connector()
        op = Capability.READ if Capability.READ in c.capabilities else next(iter(c.capabilities))
        if op is not Capability.READ:
            pytest.skip(f"{c.name} cannot read; the connection check is exercised by read()")
        with pytest.raises(ConnectionError_):
            _run(c.read(["x"]))

    def test_undeclared_capability_raises(self, make_connector: MakeConnector) -> None:
        async def go() -> None:
            async with make_connector() as c:
                missing = set(Capability) - set(c.capabilities)
                if Capability.HISTORY in missing:
                    from datetime import UTC, datetime
                    with pytest.raises(CapabilityError):
                        await c.history(["x"], datetime.now(UTC), datetime.now(UTC))
                if Capability.WRITE in missing:
                    req = ActionRequest(target="x", value=1)
                    with pytest.raises(CapabilityError):
                        await c.write(req, permit_for_tests(req))
                if Capability.EVENTS in missing:
                    with pytest.raises(CapabilityError):
                        c.events()

        _run(go())

    # -- reading -----------------------------------------------------------------------------------
    def _need(self, c: BaseConnector[Any], *caps: Capability) -> None:
        lacking = [cap.value for cap in caps if cap not in c.capabilities]
        if lacking:
            pytest.skip(f"connector {c.name!r} does not declare {lacking}; contract does not apply")

    def test_browse_returns_unique_tags(self, make_connector: MakeConnector) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.BROWSE)
                tags = await c.browse()
                assert tags, "browse() found no tags; the fixture must expose at least one"
                ids = [t.id for t in tags]
                assert len(ids) == len(set(ids)), "tag ids must be unique"
                assert all(t.name for t in tags)

        _run(go())

    def test_read_returns_one_sample_per_id_in_order(self, make_connector: MakeConnector) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.BROWSE, Capability.READ)
                ids = [t.id for t in await c.browse()][:8]
                for order in (ids, list(reversed(ids))):
                    samples = await c.read(order)
                    assert [s.tag_id for s in samples] == order
                    assert all(isinstance(s, Sample) for s in samples)
                assert await c.read([]) == []

        _run(go())

    def test_read_unknown_tag_is_a_typed_error(self, make_connector: MakeConnector) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.READ)
                with pytest.raises(NodeNotFoundError) as info:
                    await c.read([self.unknown_tag_id])
                assert self.unknown_tag_id in str(info.value)

        _run(go())

    def test_subscribe_yields_current_values_first(self, make_connector: MakeConnector) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.BROWSE, Capability.SUBSCRIBE)
                ids = [t.id for t in await c.browse()][:3]
                seen: set[str] = set()
                async with contextlib.aclosing(c.subscribe(ids, period=0.1)) as stream:
                    async for item in stream:
                        if isinstance(item, Sample):
                            seen.add(item.tag_id)
                        if seen >= set(ids):
                            break
                assert seen == set(ids)

        _run(go())

    # -- writing -----------------------------------------------------------------------------------
    def test_write_with_mismatched_permit_never_reaches_the_device(
        self, make_connector: MakeConnector, write_case: WriteCase | None
    ) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.WRITE, Capability.READ)
                if write_case is None:
                    pytest.skip("no write_case fixture given")
                before = (await c.read([write_case.tag_id]))[0].value
                req = ActionRequest(target=write_case.tag_id, value=write_case.value)
                other = permit_for_tests(req.model_copy(update={"value": before}))
                with pytest.raises(FactoryPilotError):
                    await c.write(req, other)
                assert (await c.read([write_case.tag_id]))[0].value == before

        _run(go())

    def test_write_then_read_back(self, make_connector: MakeConnector, write_case: WriteCase | None) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.WRITE, Capability.READ)
                if write_case is None:
                    pytest.skip("no write_case fixture given")
                req = ActionRequest(kind=ActionKind.WRITE, target=write_case.tag_id, value=write_case.value)
                await c.write(req, permit_for_tests(req))
                got = (await c.read([write_case.tag_id]))[0]
                assert got.value == write_case.value

        _run(go())

    def test_subscription_sees_a_write(self, make_connector: MakeConnector, write_case: WriteCase | None) -> None:
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.WRITE, Capability.SUBSCRIBE)
                if write_case is None:
                    pytest.skip("no write_case fixture given")
                req = ActionRequest(target=write_case.tag_id, value=write_case.value)
                async with contextlib.aclosing(c.subscribe([write_case.tag_id], period=0.1)) as stream:
                    first = await anext(stream)
                    assert isinstance(first, Sample | Gap)
                    if isinstance(first, Sample) and first.value == write_case.value:
                        pytest.skip("write_case.value equals the current value; pick a different one")
                    await c.write(req, permit_for_tests(req))
                    async for item in stream:
                        if isinstance(item, Sample) and item.value == write_case.value:
                            break

        _run(go())

    # -- alarm events ------------------------------------------------------------------------------
    @staticmethod
    async def _next_alarm(stream: Any, want: Callable[[AlarmEvent], bool]) -> AlarmEvent:
        async for item in stream:
            if isinstance(item, AlarmEvent) and want(item):
                return item
        raise AssertionError("the event stream ended")

    def test_alarm_active_before_connect_arrives_refreshed(
        self, make_connector: MakeConnector, alarm_case: AlarmCase | None
    ) -> None:
        async def go() -> None:
            c = make_connector()
            self._need(c, Capability.EVENTS)
            if alarm_case is None:
                pytest.skip("no alarm_case fixture given")
            alarm_case.raise_alarm(c)
            try:
                async with c, contextlib.aclosing(c.events()) as stream:
                    ev = await self._next_alarm(stream, lambda e: e.active and alarm_case.message_contains in e.message)
                    assert ev.refreshed, "an alarm active before the subscription must come from the refresh"
                    assert ev.condition_id
                    assert 1 <= ev.severity <= 1000
            finally:
                alarm_case.clear_alarm(c)

        _run(go())

    def test_alarm_raised_and_returned_to_normal(
        self, make_connector: MakeConnector, alarm_case: AlarmCase | None
    ) -> None:
        """A new alarm and its return to normal arrive on one condition id; while it is active, ``alarm_state``
        with its EventId (``known_event``: a connector may answer from a cheaper source) gives the same state."""
        async def go() -> None:
            async with make_connector() as c:
                self._need(c, Capability.EVENTS)
                if alarm_case is None:
                    pytest.skip("no alarm_case fixture given")
                async with contextlib.aclosing(c.events()) as stream:
                    alarm_case.raise_alarm(c)
                    try:
                        on = await self._next_alarm(stream, lambda e: e.active
                                                    and alarm_case.message_contains in e.message)
                        plain = await c.alarm_state(on.condition_id)
                        assert plain is not None, "an active alarm must be readable with alarm_state"
                        known = await c.alarm_state(on.condition_id, known_event=plain.event_id)
                        assert known is not None
                        keys = {"condition_id", "event_id", "acked", "confirmed", "active", "retain", "severity"}
                        assert known.model_dump(include=keys) == plain.model_dump(include=keys)
                    finally:
                        alarm_case.clear_alarm(c)
                    off = await self._next_alarm(stream, lambda e: e.condition_id == on.condition_id
                                                 and not e.active)
                    assert off.time >= on.time
                    assert not off.refreshed

        _run(go())
