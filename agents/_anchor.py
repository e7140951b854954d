"""An external anchor for the ledger's head: append-only lines in a file *elsewhere* (another disk, a network
share, a write-once medium), optionally signed with HMAC-SHA256 under a key kept outside the home.

The two heads of :mod:`~factorypilot.agents.ledger` live in the home; someone who can rewrite the home can rewrite
both. A line in an external anchor records ``(ledger, seq, hash, time)`` at some moment; ``verify`` then checks
that record ``seq`` still exists with that hash — a truncated or rewritten ledger contradicts every anchor line
written after the damaged point. With a key (``FACTORYPILOT_LEDGER_KEY``) each line carries an HMAC, so a line
cannot be forged or edited without the key either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factorypilot._sqlite import storage_error

__all__ = ["append_anchor", "check_anchor"]


def _mac(key: bytes, body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def append_anchor(path: Path, ledger: str, seq: int, digest: str, key: bytes | None) -> dict[str, Any]:
    """Append one line (``O_APPEND``, fsync'd) and return it."""
    body: dict[str, Any] = {"ledger": ledger, "seq": seq, "hash": digest, "time": datetime.now(UTC).isoformat()}
    line = dict(body, hmac=_mac(key, body)) if key else body
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise storage_error(path, exc, "append the ledger anchor to") from exc
    return line


def check_anchor(path: Path, ledger: str, hashes: dict[int, str], key: bytes | None) -> tuple[list[str], list[str]]:
    """(problems, notes) of the ledger's records (``seq -> hash``) against every line of the anchor file."""
    problems: list[str] = []
    notes: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return [f"the external anchor {path} cannot be read ({exc.strerror or exc}): the tail cannot be checked "
                "against it"], notes
    last = max(hashes, default=0)
    unchecked = 0
    mine = 0
    for n, text in enumerate(lines, start=1):
        try:
            line = json.loads(text)
            body = {k: line[k] for k in ("ledger", "seq", "hash", "time")}
            seq = int(body["seq"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"external anchor line {n} is not an anchor record (edited?)")
            continue
        if body["ledger"] != ledger:
            continue
        mine += 1
        if key is not None:
            if "hmac" not in line:
                problems.append(f"external anchor line {n} is not signed although a key is set (added by hand?)")
                continue
            if not hmac.compare_digest(str(line["hmac"]), _mac(key, body)):
                problems.append(f"external anchor line {n} has a wrong signature (forged, edited, or another key)")
                continue
        elif "hmac" in line:
            unchecked += 1
        if seq > last:
            problems.append(f"the external anchor saw record {seq} at {body['time']}, the ledger ends at {last}: "
                            f"records {last + 1}..{seq} were removed (tail truncated)")
        elif hashes.get(seq) != body["hash"]:
            problems.append(f"record {seq} differs from the external anchor written at {body['time']}: the ledger "
                            f"was rewritten from there on")
    if unchecked:
        notes.append(f"{unchecked} signed anchor line(s) not checked: set FACTORYPILOT_LEDGER_KEY to check them")
    if not mine:
        notes.append(f"the external anchor {path.name} has no line for {ledger} yet")
    return problems, notes
