"""``factorypilot pilot new SECTOR``: a new sector pilot package, ready to install, that passes its gate.

It writes ``<dir>/<sector>-pilot/``: a ``pyproject.toml`` registering the pilot in the ``factorypilot.pilots``
entry-point group, the package (``pilot.yaml``, ``playbooks.yaml``, ``scenarios.yaml``, ``knowledge/``, a tiny
``plant.py``), a README and ``tests/test_gate.py`` (the pilot's evaluation gate as a test). After
``pip install -e <dir>/<sector>-pilot`` it is listed by ``factorypilot pilot list`` and
``factorypilot eval SECTOR --gate`` passes. See ``docs/writing-a-pilot.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from factorypilot.errors import ConfigError

__all__ = ["NAME", "StarterNames", "new_pilot", "starter_names"]

NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# template file (in ./template) -> where it goes, relative to the new distribution's folder
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{package}/__init__.py",
    "plant.py.tmpl": "{package}/plant.py",
    "pilot.yaml.tmpl": "{package}/pilot.yaml",
    "playbooks.yaml.tmpl": "{package}/playbooks.yaml",
    "scenarios.yaml.tmpl": "{package}/scenarios.yaml",
    "sop-01.md.tmpl": "{package}/knowledge/sop-01.md",
    "test_gate.py.tmpl": "tests/test_gate.py",
}


@dataclass(frozen=True)
class StarterNames:
    sector: str  # the pilot's name: factorypilot eval SECTOR
    package: str  # the Python package: <sector>_pilot
    dist: str  # the distribution (pip) name and folder: <sector>-pilot
    model: str  # the plant model class

    def render(self, text: str) -> str:
        for key, value in (("sector", self.sector), ("package", self.package), ("dist", self.dist),
                           ("Model", self.model)):
            text = text.replace("{{" + key + "}}", value)
        return text


def starter_names(sector: str) -> StarterNames:
    """The names a new pilot gets; ``sector`` must be lower-case letters, digits and single dashes."""
    if not NAME.fullmatch(sector):
        raise ConfigError(f"invalid sector name {sector!r} / 섹터 이름이 올바르지 않습니다", where="SECTOR",
                          hint="use lower-case letters, digits and dashes, e.g. moulding or food-line "
                                 "(영문 소문자, 숫자, 대시만 사용)")
    camel = "".join(part.capitalize() for part in sector.split("-"))
    return StarterNames(sector=sector, package=f"{sector.replace('-', '_')}_pilot", dist=f"{sector}-pilot",
                        model=f"{camel}Model")


def new_pilot(sector: str, into: Path, *, installed: set[str] | frozenset[str] = frozenset()) -> Path:
    """Write the starter package for ``sector`` under ``into``; returns its folder (``into/<sector>-pilot``).

    Refuses a name an installed pilot already has (``installed``) and an existing, non-empty target folder.
    """
    names = starter_names(sector)
    if sector in installed:
        raise ConfigError(f"a pilot named {sector!r} is already installed / 같은 이름의 파일럿이 이미 있습니다",
                          where="SECTOR",
                          hint="choose another name (factorypilot pilot list shows the installed ones)")
    target = Path(into) / names.dist
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty / 폴더가 비어 있지 않습니다", where=str(target),
                          hint="choose another --dir, or remove that folder first")
    source = files(__name__) / "template"
    for template, rel in _FILES.items():
        out = target / rel.format(package=names.package)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(names.render((source / template).read_text(encoding="utf-8")), encoding="utf-8")
    return target
