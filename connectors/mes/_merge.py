"""Merging a validated batch into a kind's table: natural keys, duplicates, conflicts — nothing overwritten
silently.

The batch is bulk-loaded into a temporary staging table (ADBC, no Python objects per value) and its keys are
built in SQL. Then, in the caller's transaction:

1. rows of the batch that repeat a key of an earlier row of the same batch are settled in file order (the same
   values: a duplicate; other values: a conflict);
2. rows whose key is stored with the same values are duplicates (left alone; ``extra``, the unmapped cells, is
   not compared: the same record from a CSV and a B2MML export is one record);
3. rows whose key is stored with other values are conflicts: with ``on_conflict="quarantine"`` (the default)
   the stored version stays and the row is reported; with ``"replace"`` it replaces the stored one and is
   reported as replaced. Both versions are always returned;
4. the rest is inserted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from factorypilot.connectors.mes._validate import RECORD, ROW, arrow_schema
from factorypilot.connectors.mes.records import FIELDS, NATURAL_KEYS, RecordKind

if TYPE_CHECKING:
    import pyarrow as pa

    from factorypilot.connectors.mes._store import Upsert

CONFLICT_LIMIT = 1000
"""Conflicts returned with both versions per batch; the count is always exact."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns(kind: RecordKind) -> list[str]:
    return [f.name for f in arrow_schema(kind) if f.name != ROW]


def key_sql(kind: RecordKind, key: tuple[str, ...] | None = None, prefix: str = "") -> str:
    key_fields = key or NATURAL_KEYS[kind] or tuple(FIELDS[kind])
    return " || char(31) || ".join(f"coalesce(CAST({prefix}{q(f)} AS TEXT), '')" for f in key_fields)


def _rows(cur: Any, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cur.execute(sql, args) if args else cur.execute(sql)
    return [tuple(r) for r in cur.fetchall()]


def _conflict(names: list[str], key: str, line: int, stored: tuple[Any, ...], incoming: tuple[Any, ...],
              action: str, against: str) -> dict[str, Any]:
    return {"row": line, "key": key.split("\x1f"), "action": action, "against": against,
            "stored": dict(zip(names, stored, strict=True)), "incoming": dict(zip(names, incoming, strict=True)),
            "differs": [n for n, a, b in zip(names, stored, incoming, strict=True) if a != b and n != "extra"]}


def _canonical(names: list[str], values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v for n, v in zip(names, values, strict=True) if n != "extra")


def merge(cur: Any, kind: RecordKind, stage: pa.Table, file: str, key: tuple[str, ...] | None,
          on_conflict: str) -> Upsert:
    from factorypilot.connectors.mes._store import Upsert

    names = columns(kind)
    table, staged = q(kind.value), "temp." + q("stage_" + kind.value)
    cols = ", ".join(q(n) for n in names)
    s_cols = ", ".join("s." + q(n) for n in names)
    t_cols = ", ".join("t." + q(n) for n in names)
    same = " AND ".join(f"t.{q(n)} IS s.{q(n)}" for n in names if n != "extra")  # unmapped cells: no conflict
    cur.adbc_ingest(f"stage_{kind.value}", stage, mode="replace", temporary=True)
    cur.execute(f"ALTER TABLE {staged} ADD COLUMN key TEXT")
    cur.execute(f"UPDATE {staged} SET key = {key_sql(kind, key)}")
    cur.execute(f"CREATE INDEX temp.{q('stage_key_' + kind.value)} ON {q('stage_' + kind.value)} (key)")
    conflicts: list[dict[str, Any]] = []
    n_conflicts = duplicates = replaced = 0
    drop: list[int] = []
    # 1. keys repeated inside the batch, in file order
    repeated = _rows(cur, f"SELECT rowid, key, {q(ROW)}, {cols} FROM {staged} WHERE key IN "
                          f"(SELECT key FROM {staged} GROUP BY key HAVING COUNT(*) > 1) ORDER BY key, {q(ROW)}")
    current: tuple[Any, ...] | None = None
    for r in repeated:
        if current is None or current[1] != r[1]:
            current = r
            continue
        drop_this = r[0]
        if _canonical(names, r[3:]) == _canonical(names, current[3:]):
            duplicates += 1
        else:
            n_conflicts += 1
            action = "quarantined" if on_conflict == "quarantine" else "replaced"
            if len(conflicts) < CONFLICT_LIMIT:
                conflicts.append(_conflict(names, r[1], r[2], current[3:], r[3:], action, f"line {current[2]}"))
            if on_conflict == "replace":
                drop_this, current = current[0], r
                replaced += 1
        drop.append(drop_this)
    _delete(cur, staged, drop)
    # 2./3. keys already stored
    differing = _rows(cur, f"SELECT s.rowid, s.key, s.{q(ROW)}, {s_cols}, t.source_file, t.source_line, {t_cols} "
                           f"FROM {staged} s JOIN {table} t ON t.key = s.key WHERE NOT ({same})")
    width = len(names)
    for r in differing:
        n_conflicts += 1
        action = "quarantined" if on_conflict == "quarantine" else "replaced"
        if len(conflicts) < CONFLICT_LIMIT:
            conflicts.append(_conflict(names, r[1], r[2], r[5 + width:], r[3:3 + width], action,
                                       f"{r[3 + width]} line {r[4 + width]}"))
    if on_conflict == "quarantine":
        _delete(cur, staged, [r[0] for r in differing])
    else:
        replaced += len(differing)
    cur.execute(f"DELETE FROM {staged} WHERE rowid IN (SELECT s.rowid FROM {staged} s JOIN {table} t "
                f"ON t.key = s.key WHERE {same})")
    cur.execute("SELECT changes()")
    duplicates += int(cur.fetchone()[0])
    cur.execute(f"SELECT COUNT(*) FROM {staged}")
    remaining = int(cur.fetchone()[0])
    sets = ", ".join(f"{q(n)}=excluded.{q(n)}" for n in names)
    cur.execute(f"INSERT INTO {table} (key, {cols}, source_file, source_row, source_line) SELECT key, {cols}, ?, "
                f"{q(RECORD)}, {q(ROW)} FROM {staged} WHERE true ON CONFLICT(key) DO UPDATE SET {sets}, "
                "source_file=excluded.source_file, source_row=excluded.source_row, "
                "source_line=excluded.source_line", (file,))
    cur.execute(f"DROP TABLE {staged}")
    inserted = remaining - (len(differing) if on_conflict == "replace" else 0)
    return Upsert(inserted, replaced, duplicates, conflicts, n_conflicts)


def _delete(cur: Any, staged: str, rowids: list[int]) -> None:
    for i in range(0, len(rowids), 500):
        chunk = rowids[i:i + 500]
        cur.execute(f"DELETE FROM {staged} WHERE rowid IN ({', '.join('?' * len(chunk))})", tuple(chunk))
