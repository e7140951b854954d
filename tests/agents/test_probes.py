"""Probe points replace the test switch the agent graph used to read from the environment."""

from __future__ import annotations

from pathlib import Path

from factorypilot.agents import probes

ROOT = Path(__file__).resolve().parents[2]


def test_installed_probes_see_every_point_until_removed() -> None:
    seen: list[str] = []
    remove = probes.install(seen.append)
    try:
        probes.fire("before:act")
        probes.fire("act:after_issue:write")
    finally:
        remove()
    probes.fire("after:act")
    assert seen == ["before:act", "act:after_issue:write"]
    remove()  # removing twice is harmless


def test_product_code_reads_no_test_switch() -> None:
    product = [p for folder in ("factorypilot", "agents", "connectors", "knowledge", "pilots")
               for p in (ROOT / folder).rglob("*.py")]
    assert product
    offenders = [str(p.relative_to(ROOT)) for p in product if "FACTORYPILOT_TEST_" in p.read_text(encoding="utf-8")]
    assert offenders == []
