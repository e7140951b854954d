"""``factorypilot pilot new``: the generated sector pilot package is found through its entry point, is listed by
``pilot list`` and passes its own gate, both as ``eval --gate`` and as the test it ships.

"Installed" here means what ``pip install -e`` leaves for importlib.metadata to find: the package folder on
``sys.path`` (``PYTHONPATH``) with a ``<dist>.dist-info`` directory holding ``METADATA`` and ``entry_points.txt``.
No pip runs (it would change the test environment); the entry point is read by the same ``importlib.metadata``
call that finds the reference pilots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from factorypilot.errors import ConfigError
from factorypilot.pilots.starter import new_pilot, starter_names

EXE = str(Path(sys.executable).with_name("factorypilot"))


def _register(dist_dir: Path, sector: str) -> None:
    """What an editable install records: the distribution's metadata and its ``factorypilot.pilots`` entry point
    (copied from the generated pyproject.toml, so a wrong entry point there fails this test)."""
    names = starter_names(sector)
    pyproject = (dist_dir / "pyproject.toml").read_text(encoding="utf-8")
    declared = pyproject.split('[project.entry-points."factorypilot.pilots"]')[1].strip().splitlines()[0]
    info = dist_dir / f"{names.package}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {names.dist}\nVersion: 0.1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[factorypilot.pilots]\n{declared.replace(chr(34), '')}\n",
                                           encoding="utf-8")


def _env(home: Path, path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")}
    env.update({"FACTORYPILOT_HOME": str(home), "FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false", "COLUMNS": "200",
                "PYTHONPATH": str(path)})
    return env


def test_names_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid sector name"):
        new_pilot("Food Line", tmp_path)
    with pytest.raises(ConfigError, match="already installed"):
        new_pilot("mobility", tmp_path, installed={"mobility"})
    (tmp_path / "moulding-pilot").mkdir()
    (tmp_path / "moulding-pilot" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        new_pilot("moulding", tmp_path)
    assert (tmp_path / "moulding-pilot" / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert starter_names("food-line") == starter_names("food-line")
    assert starter_names("food-line").package == "food_line_pilot"
    assert starter_names("food-line").model == "FoodLineModel"


def test_a_generated_pilot_is_listed_and_passes_its_gate(tmp_path: Path) -> None:
    created = subprocess.run([EXE, "pilot", "new", "food-line", "--dir", str(tmp_path)], capture_output=True,
                             text=True, env=_env(tmp_path / "home", tmp_path), timeout=120)
    assert created.returncode == 0, created.stderr
    dist = tmp_path / "food-line-pilot"
    spec = yaml.safe_load((dist / "food_line_pilot" / "pilot.yaml").read_text(encoding="utf-8"))
    assert (spec["id"], spec["sector"], spec["simulator"]["model"]) == ("food-line-starter", "food-line", "food-line")
    for rel in ("food_line_pilot/__init__.py", "food_line_pilot/plant.py", "food_line_pilot/playbooks.yaml",
                "food_line_pilot/scenarios.yaml", "food_line_pilot/knowledge/sop-01.md", "tests/test_gate.py",
                "README.md"):
        assert (dist / rel).is_file(), rel
    assert "{{" not in "".join(p.read_text(encoding="utf-8") for p in dist.rglob("*") if p.is_file())
    _register(dist, "food-line")
    env = _env(tmp_path / "home", dist)

    listed = subprocess.run([EXE, "pilot", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "food-line" in listed.stdout
    models = subprocess.run([EXE, "simulator", "models"], capture_output=True, text=True, env=env, timeout=120)
    assert "food-line" in models.stdout

    gate = subprocess.run([EXE, "eval", "food-line", "--gate", "--no-plots", "--no-knowledge", "--lang", "en"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "Gate: all thresholds met" in gate.stdout
    report = next((tmp_path / "home" / "reports" / "food-line-starter").glob("*/report.json"))
    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["gate"]["passed"] is True
    assert figures["gate"]["failures"] == []

    shipped = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=dist,
                             capture_output=True, text=True, env=env, timeout=600)
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "1 passed" in shipped.stdout
