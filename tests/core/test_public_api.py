"""The public API is small and pinned: changing it is a deliberate act that edits this test."""

from __future__ import annotations

import tomllib
from pathlib import Path

import factorypilot

ROOT = Path(__file__).resolve().parents[2]

PINNED = {
    "ActionKind", "ActionRequest", "ActionResult", "ActionStatus", "AssetPath", "ConfigError", "ConnectionError_",
    "DataError", "DataType", "Event", "FactoryPilotError", "Gap", "Limits", "Quality", "SafetyViolation", "Sample",
    "SecurityError", "Settings", "Severity", "Tag", "WritePermit", "__version__", "get_settings",
}


def test_top_level_all_is_pinned() -> None:
    assert set(factorypilot.__all__) == PINNED
    for name in factorypilot.__all__:
        assert hasattr(factorypilot, name)


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    """A sub-package missing from [tool.setuptools].packages would be silently absent from a wheel."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping = {v: k for k, v in cfg["package-dir"].items()}
    found = set()
    for init in ROOT.glob("*/**/__init__.py"):
        rel = init.parent.relative_to(ROOT)
        top = rel.parts[0]
        if top not in mapping:
            continue
        found.add(".".join([mapping[top], *rel.parts[1:]]))
    assert found - set(cfg["packages"]) == set(), "add these to [tool.setuptools].packages"
