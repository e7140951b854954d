"""The fault matrix: kill -9 at the write-ahead boundaries × {value unchanged, changed by an operator before the
restart, plant down at restart} × {write, method, note}, counted on the simulator (not in the agent).

Every cell runs all three kinds of action in one pilot run (write → ResetAlarm → note); the crash point names
which one was in flight. The expectations per cell are in ``_fault_cells.CELLS``: an action issued before the
crash is never issued again — it is confirmed by read-back ("confirmed after restart") or left ``unconfirmed``
with the run in ``attention`` for a person.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factorypilot.pilots.simulator import PlantHandle, running_plant

from ._fault_cells import CELLS, Cell, check, run_cell


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS, ids=[f"{c.point}-{c.fault}" for c in CELLS])
def test_fault_cell(cell: Cell, tmp_path: Path, plant: PlantHandle) -> None:
    seen = run_cell(cell, tmp_path, plant)
    assert check(cell, seen, plant) == [], seen
