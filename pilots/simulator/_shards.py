"""``ShardedPlant``: one plant served by several server processes (one endpoint each).

An asyncua server saturates around 3,000 value changes per second (DESIGN, "Scale notes"), so a large
plant is split: shard k runs lines ``k·lines_per_shard + 1 …`` in its own process, with globally unique
roles (``lineKK_<role>``), node ids (``<model>.line-KK...``) and per-line random streams — the union of the
shards equals the same plant run in one process. Faults and stepping are per process and not remote-controlled
here; use :class:`PlantSimulator` for those.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from factorypilot.errors import ConnectionError_, FactoryPilotError

__all__ = ["ShardedPlant"]

_START_TIMEOUT = 120.0


def _shard_main(kwargs: dict[str, Any], conn: Connection) -> None:
    import signal

    from ._server import PlantSimulator

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us

    async def main() -> None:
        sim = PlantSimulator(**kwargs)
        async with sim:
            conn.send(("ok", sim.endpoint, sim.roles()))
            with contextlib.suppress(EOFError):  # the parent went away
                await asyncio.to_thread(conn.recv)  # until the parent says stop

    try:
        asyncio.run(main())
    except (FactoryPilotError, OSError) as exc:
        conn.send(("error", str(exc), {}))


class ShardedPlant:
    """Context manager starting ``shards`` simulator processes of ``lines_per_shard`` lines each.

    Example::

        with ShardedPlant("mobility", shards=3, lines_per_shard=100, tick_seconds=1.0) as plant:
            plant.endpoints                      # three opc.tcp:// endpoints
            plant.roles()["line150_spindle_speed"]  # (endpoint, node id)
    """

    def __init__(self, model: str = "mobility", *, shards: int, lines_per_shard: int = 1, seed: int = 0,
                 host: str = "127.0.0.1", base_port: int = 0, tick_seconds: float = 1.0,
                 realtime: bool = True) -> None:
        if shards < 1 or lines_per_shard < 1:
            raise FactoryPilotError("shards and lines_per_shard must be >= 1", where="ShardedPlant")
        self._kwargs = [dict(model=model, seed=seed, host=host, port=(base_port + k) if base_port else 0,
                             tick_seconds=tick_seconds, realtime=realtime, scale=lines_per_shard,
                             first_line=k * lines_per_shard) for k in range(shards)]
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self.endpoints: list[str] = []
        self._roles: dict[str, tuple[str, str]] = {}

    def roles(self) -> dict[str, tuple[str, str]]:
        """Role → (endpoint, node id) across every shard."""
        return dict(self._roles)

    def __enter__(self) -> ShardedPlant:
        ctx = mp.get_context("spawn")
        for kwargs in self._kwargs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_shard_main, args=(kwargs, child), daemon=True,
                               name=f"factorypilot-shard-{kwargs['first_line']}")
            proc.start()
            self._procs.append(proc)
            self._conns.append(parent)
        try:
            for k, conn in enumerate(self._conns):
                if not conn.poll(_START_TIMEOUT):
                    raise ConnectionError_(f"simulator shard {k} did not start", where=f"shard {k}",
                                           hint="check the ports and the model name; run it alone to see why")
                status, endpoint, roles = conn.recv()
                if status != "ok":
                    raise ConnectionError_(f"simulator shard {k} failed: {endpoint}", where=f"shard {k}")
                self.endpoints.append(endpoint)
                self._roles.update({role: (endpoint, node) for role, node in roles.items()})
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):  # the shard already exited
                conn.send("stop")
        for proc in self._procs:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()  # only our own child process
                proc.join(5)
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []
