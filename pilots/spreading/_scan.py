"""The company-data scan every exported template must pass (and that tests run on the exported package).

A template may carry the spec, playbooks, policy, scenarios and *generic* knowledge. It must not carry:
endpoints or host addresses, bindings or plant node ids, credentials or keys, databases, recorded data
files, or the lead firm's name. ``scan_text``/``scan_tree`` return findings; export refuses on any.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["scan_files", "scan_text", "scan_tree"]

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("endpoint", re.compile(r"\b(opc\.tcp|mqtt|mqtts|postgres(ql)?|https?)://", re.I)),
    ("ip address", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b")),
    ("plant node id", re.compile(r"\bns=\d+;[sigb]=", re.I)),
    ("credential", re.compile(r"\b(password|passwd|secret|api[_-]?key|token|username)\s*[:=]\s*\S", re.I)),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")),
)
_DATA_SUFFIXES = {".csv", ".tsv", ".xlsx", ".xls", ".parquet", ".jsonl", ".sqlite", ".db", ".sqlite3", ".pem",
                  ".der", ".key", ".pfx", ".p12", ".crt", ".head", ".arrow", ".feather", ".pkl", ".npy"}
_BINARY_MAGIC = (b"SQLite format 3", b"PK\x03\x04", b"\x30\x82")


def scan_text(name: str, text: str, *, markers: Sequence[str] = ()) -> list[str]:
    """Findings in one text file (``name`` is only used in the messages)."""
    found = [f"{name}: {label} ({m.group(0).strip()[:40]!r})"
             for label, rx in _PATTERNS for m in [rx.search(text)] if m]
    low = text.lower()
    found += [f"{name}: company name {m!r}" for m in markers if m and m.lower() in low]
    return found


def _entries(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield info.filename, zf.read(info)
        return
    for f in sorted(path.rglob("*")):
        if f.is_file():
            yield f.relative_to(path).as_posix(), f.read_bytes()


def scan_files(files: Sequence[tuple[str, bytes]], *, markers: Sequence[str] = ()) -> list[str]:
    findings: list[str] = []
    for name, data in files:
        suffix = Path(name).suffix.lower()
        if suffix in _DATA_SUFFIXES:
            findings.append(f"{name}: data/credential file type {suffix!r}")
            continue
        if any(data.startswith(m) for m in _BINARY_MAGIC):
            findings.append(f"{name}: binary database/archive/certificate content")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            findings.append(f"{name}: not UTF-8 text (templates carry only text files)")
            continue
        findings += scan_text(name, text, markers=markers)
        if suffix in (".yaml", ".yml"):
            findings += _scan_yaml(name, text)
    return findings


def _scan_yaml(name: str, text: str) -> list[str]:
    """Structural check of YAML: no non-empty ``bindings``, no ``connector`` section, anywhere."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return [f"{name}: YAML that cannot be read (cannot prove it is clean)"]
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "bindings" and v:
                    found.append(f"{name}: bindings ({len(v)} role(s) bound to plant tags)")
                elif k == "connector" and v:
                    found.append(f"{name}: connector config")
                walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found


def scan_tree(path: Path, *, markers: Sequence[str] = ()) -> list[str]:
    """Scan a template directory or zip for company data; an empty list means clean."""
    return scan_files(list(_entries(Path(path))), markers=markers)
