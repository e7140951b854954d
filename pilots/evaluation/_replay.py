"""Replay of recorded tag values through the simulator.

``load_replay`` reads a CSV (UTF-8, UTF-8-BOM or CP949) into one ``{role: value}`` mapping per tick;
``replaying(model_cls, frames)`` returns a model *instance* whose class is the sector model with the replayed
roles forced before and after each physics step. Node ids stay those of the sector model, so the pilot's
bindings and the OPC-UA path are unchanged. Replayed roles do not respond to the agent's writes (they are
history); the rest of the physics (e.g. vibration from replayed tool wear) still does.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from factorypilot.errors import DataError
from factorypilot.pilots.evaluation.scenarios import ReplaySpec
from factorypilot.pilots.simulator import PlantModel

__all__ = ["load_replay", "replaying"]

Frame = dict[str, float]


def _text(path: Path, encoding: str | None) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"replay file not found: {path}", file=str(path),
                        hint="give the CSV path relative to the scenario file, or an absolute path") from None
    for enc in ([encoding] if encoding else ["utf-8-sig", "cp949"]):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
        except LookupError:
            raise DataError(f"unknown encoding {enc!r}", file=str(path), hint="use utf-8 or cp949") from None
    raise DataError("replay CSV is neither UTF-8 nor CP949", file=str(path), hint="set replay.encoding")


def _seconds(value: str, path: Path, row: int, column: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        raise DataError(f"cannot read time {value!r}", file=str(path), row=row, column=column,
                        hint="use ISO 8601 timestamps or seconds") from None


def load_replay(spec: ReplaySpec, max_ticks: int) -> list[Frame]:
    """One frame per tick (at most ``max_ticks``); a tick without a row holds the previous values."""
    path = Path(spec.path)
    reader = csv.DictReader(io.StringIO(_text(path, spec.encoding)))
    header = reader.fieldnames or []
    wanted = list(spec.columns) + ([spec.time_column] if spec.time_column else [])
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"replay CSV lacks column(s) {', '.join(map(repr, missing))}", file=str(path),
                        hint=f"columns in the file: {', '.join(header)}")
    first, stop = spec.rows or (0, None)
    placed: list[tuple[float, Frame]] = []
    for i, row in enumerate(reader):
        if i < first:
            continue
        if stop is not None and i >= stop:
            break
        frame: Frame = {}
        for column, role in spec.columns.items():
            cell = (row.get(column) or "").strip()
            try:
                x = float(cell)
            except ValueError:
                raise DataError(f"not a number: {cell!r}", file=str(path), row=i + 2, column=column,
                                hint="replayed columns must be numeric") from None
            if not math.isfinite(x):
                raise DataError(f"not a finite number: {cell!r}", file=str(path), row=i + 2, column=column)
            frame[role] = x * spec.scale.get(role, 1.0) + spec.offset.get(role, 0.0)
        at = _seconds(row[spec.time_column], path, i + 2, spec.time_column) if spec.time_column else float(len(placed))
        placed.append((at, frame))
    if not placed:
        raise DataError("replay selects no rows", file=str(path), hint="check replay.rows")
    if spec.time_column is None:
        return [f for _, f in placed][:max_ticks]
    t0 = placed[0][0]
    per_tick = spec.seconds_per_tick or 1.0
    frames: list[Frame] = []
    j = 0
    last = (placed[-1][0] - t0) / per_tick
    for tick in range(max_ticks):
        if tick > last:
            break  # the recording ends here; the model holds the last frame
        while j + 1 < len(placed) and (placed[j + 1][0] - t0) / per_tick <= tick:
            j += 1
        frames.append(placed[j][1])
    return frames


def replaying(model_cls: type[PlantModel], frames: list[Frame]) -> PlantModel:
    """A model instance that forces the replayed values tick by tick (then holds the last frame)."""

    class Replayed(model_cls):  # type: ignore[valid-type,misc]
        def step(self, tick: int, disturbance: Mapping[str, float]) -> None:
            frame = frames[min(tick, len(frames) - 1)] if frames else {}
            self.values.update(frame)
            super().step(tick, disturbance)
            self.values.update({r: (round(v) if isinstance(self.values.get(r), int) else v)
                                for r, v in frame.items()})

    Replayed.__name__ = f"Replayed{model_cls.__name__}"
    model: PlantModel = Replayed()
    return model
