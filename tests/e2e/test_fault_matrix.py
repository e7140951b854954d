"""The fault matrix: kill -9 at every node boundary (before and after each of the nine nodes) and at every
write-ahead step inside ``act`` for each kind of action {write, method, note} × {value unchanged, changed by an
operator before the restart, plant down at restart} — 81 cells — counted on the simulator (not in the agent).

Every cell runs all three kinds of action in one pilot run (write → ResetAlarm → note); an ``act:…:KIND`` crash
point names which one was in flight. The commands are forked from a server that imported the CLI once
(``_zygote``): each is its own process killed by a real SIGKILL, without paying the imports in every cell.
The expectations per cell are in ``_fault_cells.expect``: an action issued before the crash is never issued
again — it is confirmed by read-back ("confirmed after restart") or left ``unconfirmed`` with the run in
``attention`` for a person.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factorypilot.pilots.simulator import PlantHandle, running_plant

from ._fault_cells import CELLS, Cell, check, run_cell
from ._zygote import Zygote


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        yield z


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS, ids=[f"{c.point}-{c.fault}" for c in CELLS])
def test_fault_cell(cell: Cell, tmp_path: Path, plant: PlantHandle, zygote: Zygote) -> None:
    seen = run_cell(cell, tmp_path, plant, zygote.run)
    assert check(cell, seen, plant) == [], seen
