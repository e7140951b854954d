"""``running_plant``: the simulator on its own event loop in a background thread, for synchronous callers
(e.g. the connector contract suite, which runs ``asyncio.run`` per test)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from factorypilot.vocabulary import Scalar

from ._faults import Fault
from ._security import CertificatePaths
from ._server import PlantSimulator

__all__ = ["PlantHandle", "running_plant"]

T = TypeVar("T")
_TIMEOUT = 60.0


class PlantHandle:
    """Thread-safe remote control of a simulator running in another thread."""

    def __init__(self, sim: PlantSimulator, loop: asyncio.AbstractEventLoop) -> None:
        self.simulator = sim
        self._loop = loop

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_TIMEOUT)

    def _sync(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return self._call(run())

    @property
    def endpoint(self) -> str:
        return self.simulator.endpoint

    @property
    def certificates(self) -> CertificatePaths | None:
        return self.simulator.certificates

    @property
    def tick_index(self) -> int:
        return int(self._sync(lambda: self.simulator.tick_index))

    def method_ids(self) -> dict[str, str]:
        """Method name → node id (see ``PlantSimulator.method_ids``)."""
        return dict(self._sync(self.simulator.method_ids))

    @property
    def write_log(self) -> list[tuple[int, str, Scalar]]:
        """A copy of the accepted client writes (tick, role, value)."""
        return list(self._sync(lambda: list(self.simulator.write_log)))

    @property
    def method_log(self) -> list[tuple[int, str, tuple[Scalar, ...]]]:
        """A copy of the method calls the plant executed (tick, method name, arguments)."""
        return list(self._sync(lambda: list(self.simulator.method_log)))

    def alarm_acks(self) -> dict[str, tuple[bool, bool, list[tuple[str, str]]]]:
        """ConditionId → (acked, confirmed, accepted (method, comment) calls), read at the plant itself."""
        return dict(self._sync(lambda: {c.condition_id.to_string(): (c.acked, c.confirmed, list(c.comments))
                                        for c in self.simulator.alarms.conditions.values()}))

    @property
    def alarm_calls(self) -> int:
        """Acknowledge/Confirm calls that reached the plant (accepted or refused)."""
        return int(self._sync(lambda: self.simulator.alarms.calls))

    def node_id(self, role: str) -> str:
        return self.simulator.node_id(role)

    def roles(self) -> dict[str, str]:
        return self.simulator.roles()

    def value(self, role: str) -> Scalar:
        return self._sync(self.simulator.value, role)  # type: ignore[no-any-return]

    def inject(self, fault: Fault) -> None:
        self._sync(self.simulator.inject, fault)

    def clear_faults(self) -> None:
        self._sync(self.simulator.clear_faults)

    def step(self, n: int = 1) -> None:
        self._call(self.simulator.step(n))

    def stop(self) -> None:
        self._call(self.simulator.stop())

    def start(self) -> None:
        self._call(self.simulator.start())


@contextlib.contextmanager
def running_plant(**kwargs: Any) -> Iterator[PlantHandle]:
    """Run ``PlantSimulator(**kwargs)`` in a background thread; yields a :class:`PlantHandle`.

    Example::

        with running_plant(model="mobility", seed=1, realtime=False) as plant:
            plant.step(5)
            connect_to(plant.endpoint, plant.node_id("feed_override"))
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    thread = threading.Thread(target=run, name="factorypilot-simulator", daemon=True)
    thread.start()
    ready.wait(_TIMEOUT)

    async def create() -> PlantSimulator:
        sim = PlantSimulator(**kwargs)
        await sim.start()
        return sim

    try:
        sim = asyncio.run_coroutine_threadsafe(create(), loop).result(_TIMEOUT)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_TIMEOUT)
        loop.close()
        raise
    handle = PlantHandle(sim, loop)
    try:
        yield handle
    finally:
        try:
            asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(_TIMEOUT)
        finally:
            async def drain() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            asyncio.run_coroutine_threadsafe(drain(), loop).result(_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_TIMEOUT)
            loop.close()
