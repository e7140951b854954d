"""The Postgres checkpointer, against a real server that `.ci/run` starts (`.ci/postgres-start`).

Without FACTORYPILOT_TEST_POSTGRES_URL (a developer machine without a server) the test is skipped, saying so.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from factorypilot.agents import AgentRuntime, TagRule
from factorypilot.connectors import InMemoryConnector
from factorypilot.vocabulary import Sample

from .conftest import make_config

URL = os.environ.get("FACTORYPILOT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(URL is None, reason="no PostgreSQL server: .ci/run starts one via "
                                                    ".ci/postgres-start and sets FACTORYPILOT_TEST_POSTGRES_URL")


async def test_approval_survives_a_restart_with_postgres_checkpoints(plant: InMemoryConnector, tmp_path: Path) -> None:
    assert URL is not None
    plant.set_value("cnc1.vib", 5.5)
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])
    window = {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]}
    run_id = f"pg-{uuid.uuid4().hex[:8]}"
    async with plant:
        async with AgentRuntime(cfg, plant, home=tmp_path, checkpointer_url=URL) as rt:
            out = await rt.handle(window, run_id=run_id)
            assert out.status == "waiting_approval"
        # a new runtime (a restarted process) continues from the Postgres checkpoint
        async with AgentRuntime(cfg, plant, home=tmp_path, checkpointer_url=URL) as rt2:
            done = await rt2.resume(run_id, "approve", by="최지우")
            assert done.status == "done"
    assert plant.writes == [("cnc1.feed", 85.0)]
