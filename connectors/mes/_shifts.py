"""Shift name and production date of timestamps, from the configured shift table (vectorised, numpy)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factorypilot.connectors.mes.config import MesFilesConfig

__all__ = ["distinct", "shifts"]


def shifts(times: pa.Array, cfg: MesFilesConfig, wall: np.ndarray | None = None) -> tuple[pa.Array, pa.Array]:
    """Shift name and production date (the local date the shift started) for each UTC timestamp.

    ``wall``: the local wall-clock seconds of every row, when the parser already knows them (the export's
    zone is the shift zone); otherwise they are computed from ``times``. Arithmetic in numpy, one pass (the
    compute-kernel version with hour()/minute()/if_else per shift took ~4x longer).
    """
    starts = sorted((int(v[:2]) * 60 + int(v[3:5]), k) for k, v in cfg.shifts.items())
    valid = pc.is_valid(times).to_numpy(zero_copy_only=False)
    if wall is None:
        naive = pc.local_timestamp(times.cast(pa.timestamp("s", tz=cfg.shift_timezone)))
        wall = pc.fill_null(naive.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    minute = (wall % 86_400) // 60
    idx = np.searchsorted(np.array([m for m, _ in starts]), minute, side="right") - 1
    idx[idx < 0] = len(starts) - 1  # before the first start: the last (night) shift, begun the day before
    day = wall // 86_400 - (minute < starts[0][0])
    shift = pc.take(pa.array([name for _, name in starts], pa.string()), pa.array(idx))
    # a batch spans few days: format each distinct day once (casting every date32 to text costs ~5x more)
    days, pos = distinct(day, valid)
    names = pa.array(days.astype(np.int32), pa.date32()).cast(pa.string())
    date = pc.take(names, pa.array(pos, mask=~valid)) if len(days) else pa.nulls(len(day), pa.string())
    return pc.if_else(pa.array(valid), shift, pa.scalar(None, pa.string())), date


def distinct(day: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values among ``day[valid]`` (ascending) and each row's position in them (0 where not
    valid). Days of one batch lie close together, so a presence table over their range does it in O(n)
    (np.unique sorts, ~10x slower); a wide range falls back to np.unique."""
    every = bool(valid.all())
    pos = np.zeros(len(day), dtype=np.int64)
    seen = day if every else day[valid]
    if not len(seen):
        return seen, pos
    lo, hi = int(seen.min()), int(seen.max())
    if hi - lo > 4 * len(seen) + 1024:
        days, inverse = np.unique(seen, return_inverse=True)
        pos[valid] = inverse.reshape(-1)
        return days, pos
    present = np.zeros(hi - lo + 1, dtype=bool)
    local = seen - lo
    present[local] = True
    rank = np.cumsum(present) - 1
    if every:
        return np.flatnonzero(present) + lo, rank[local]
    pos[valid] = rank[local]
    return np.flatnonzero(present) + lo, pos
