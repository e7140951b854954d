from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _plant import OpcUaTestPlant, PlantOptions, running_test_plant


@pytest.fixture(scope="module")
def plant() -> Iterator[OpcUaTestPlant]:
    with running_test_plant(PlantOptions(bulk=30)) as p:
        yield p
