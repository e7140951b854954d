"""``factorypilot`` with the durability tests' crash probe installed (test code; the product has no test switch).

``FACTORYPILOT_TEST_CRASH_AT=<point>`` (``before:<node>``, ``after:<node>``, ``act:after_plan``,
``act:after_issue[:write|:method|:note]``, ``act:after_write``) kills this process with SIGKILL when the agent graph
reaches that probe point (:mod:`factorypilot.agents.probes`). Run as ``python _crashing_cli.py pilot run ...``.
"""

from __future__ import annotations

import os
import signal

from factorypilot.agents import probes
from factorypilot.cli import main


def _crash(point: str) -> None:
    if os.environ.get("FACTORYPILOT_TEST_CRASH_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    probes.install(_crash)
    main()
