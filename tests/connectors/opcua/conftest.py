from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _plant import OpcUaTestPlant, PlantOptions, running_test_plant


@pytest.fixture(scope="session")
def plant() -> Iterator[OpcUaTestPlant]:
    # one server for the whole directory (start-up costs seconds); tests only write nodes they own
    with running_test_plant(PlantOptions(bulk=30)) as p:
        yield p
