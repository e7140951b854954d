"""Back-filling a simulated plant's history: the stored past a real historian would hold.

Used to give a back-test (``eval --replay-history``) and the history commands a realistic, known past:
every row is stored exactly as given (value, source time, server time), so a test can check that what a
client reads back equals what the server stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from asyncua import ua

from factorypilot.errors import ConfigError, NodeNotFoundError
from factorypilot.vocabulary import Scalar

from ._address_space import variant
from ._server import PlantSimulator

__all__ = ["backfill_alarms", "backfill_history"]


async def backfill_history(sim: PlantSimulator, role: str,
                           rows: Iterable[tuple[Scalar, datetime, datetime | None]]) -> int:
    """Store ``(value, source_time, server_time)`` rows as ``role``'s history (oldest first); returns the count.

    The role must be historized and the simulator running. ``server_time=None`` stores no server timestamp.
    """
    layout = sim._layout
    if layout is None:
        raise ConfigError("the simulator is not running", where="backfill_history", hint="start it first")
    if role not in layout.variables:
        raise NodeNotFoundError(f"no role {role!r} in model {sim.model_name!r}", where=sim.model_name)
    sig = layout.signals[role]
    if not sig.historize:
        raise ConfigError(f"role {role!r} is not historized", where=sim.model_name,
                          hint="only historized signals keep history on the simulator")
    nid = layout.variables[role]
    n = 0
    for value, source, server in rows:
        dv = ua.DataValue(variant(sig.data_type, value), SourceTimestamp=cast(ua.DateTime, source),
                          ServerTimestamp=cast(ua.DateTime | None, server))
        await sim._history.save_node_value(nid, dv)
        n += 1
    return n


async def backfill_alarms(sim: PlantSimulator, role: str, rows: Iterable[tuple[bool, int, datetime]]) -> list[bytes]:
    """Store ``(active, code, time)`` states of ``role``'s alarm condition (``role`` = the alarm flag, e.g.
    ``line1.alarm_active``) in the Server object's event history, oldest first; returns their EventIds.

    An active state is stored unacknowledged, a return to normal acknowledged (the operator's HMI did it).
    """
    if sim._layout is None:
        raise ConfigError("the simulator is not running", where="backfill_alarms", hint="start it first")
    if role not in sim.alarms.conditions:
        raise NodeNotFoundError(f"no alarm condition for role {role!r} in model {sim.model_name!r}",
                                where=sim.model_name, hint=f"alarm roles: {sorted(sim.alarms.conditions)}")
    return [await sim.alarms.record(role, active=a, code=c, time=t) for a, c, t in rows]
