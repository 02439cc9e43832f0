"""The raw limits of the same machine, measured in the same run on the same database: psycopg
writing rows like the readings into an equivalent table, with no Django, HTTP or Celery.

- single: one row per transaction (an autocommit INSERT), on `concurrency` connections at once
  (the load's concurrency);
- batch: COPY of 100-row batches, one batch per transaction, on as many connections.

The table is `CREATE TABLE bench_floor (LIKE monitoring_vitalreading INCLUDING ALL)`: the same
columns, types, NOT NULL and CHECK constraints and indexes (primary key, unique `supersedes`,
(session, taken_at), the partial "unflagged" index), plus the same three foreign keys (the
session, the user, itself), deferred as Django declares them. No triggers: the reading table's
append-only triggers fire on UPDATE and DELETE, never on INSERT.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

READING_TABLE = "monitoring_vitalreading"
FLOOR_TABLE = "bench_floor"
COLUMNS = (
    "id",
    "session_id",
    "taken_at",
    "received_at",
    "recorded_by_id",
    "device_id",
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "temperature_c",
    "consciousness",
    "on_oxygen",
    "supersedes_id",
    "flags",
    "flagged_at",
)
_COLUMN_LIST = ", ".join(COLUMNS)
INSERT = (
    f"INSERT INTO {FLOOR_TABLE} ({_COLUMN_LIST}) "  # noqa: S608 - constants only
    f"VALUES ({', '.join(['%s'] * len(COLUMNS))})"
)
COPY = f"COPY {FLOOR_TABLE} ({_COLUMN_LIST}) FROM STDIN"


@dataclass(frozen=True)
class FloorResult:
    rows_per_s: float
    rows: int
    seconds: float


async def create_floor_table(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            [READING_TABLE],
        )
        actual = {row[0] for row in await cursor.fetchall()}
        if actual != set(COLUMNS):
            raise RuntimeError(
                f"{READING_TABLE} has changed: columns {sorted(actual ^ set(COLUMNS))} differ "
                "from bench/floors.py; update COLUMNS so that the floor stays equivalent."
            )
        await conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        await conn.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE {READING_TABLE} INCLUDING ALL)")
        for column, target in (
            ("session_id", "scheduling_infusionsession"),
            ("recorded_by_id", "clinic_user"),
            ("supersedes_id", FLOOR_TABLE),
        ):
            await conn.execute(
                f"ALTER TABLE {FLOOR_TABLE} ADD FOREIGN KEY ({column}) REFERENCES {target} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )


def floor_row(session_id: int, user_id: int, *, for_copy: bool = False) -> tuple[Any, ...]:
    """The row the API stores for a normal reading (flags filled in later by the flagging)."""
    now = datetime.now(UTC)
    flags: Any = "[]" if for_copy else Jsonb([])
    return (
        uuid.uuid4(),
        session_id,
        now,
        now,
        user_id,
        "",
        118,
        76,
        72,
        98,
        14,
        Decimal("36.8"),
        "alert",
        False,
        None,
        flags,
        None,
    )


async def _closed_loop(
    dsn: str,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    step: Callable[[psycopg.AsyncConnection[Any]], Awaitable[int]],
) -> FloorResult:
    """`concurrency` connections each running `step` (which returns the rows it wrote) back to
    back; rows finished inside the measured window count."""
    loop = asyncio.get_running_loop()
    connections = [
        await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(concurrency)
    ]
    start = loop.time() + warmup_s
    end = start + duration_s
    counted = 0

    async def worker(conn: psycopg.AsyncConnection[Any]) -> None:
        nonlocal counted
        while loop.time() < end:
            rows = await step(conn)
            if start <= loop.time() <= end:
                counted += rows

    try:
        await asyncio.gather(*(worker(conn) for conn in connections))
    finally:
        for conn in connections:
            await conn.close()
    return FloorResult(rows_per_s=counted / duration_s, rows=counted, seconds=duration_s)


async def floor_single(
    dsn: str,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    session_id: int,
    user_id: int,
) -> FloorResult:
    async def insert_one(conn: psycopg.AsyncConnection[Any]) -> int:
        await conn.execute(INSERT, floor_row(session_id, user_id))
        return 1

    return await _closed_loop(
        dsn, concurrency=concurrency, warmup_s=warmup_s, duration_s=duration_s, step=insert_one
    )


async def floor_copy(
    dsn: str,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    batch_size: int,
    session_id: int,
    user_id: int,
) -> FloorResult:
    async def copy_batch(conn: psycopg.AsyncConnection[Any]) -> int:
        rows = [floor_row(session_id, user_id, for_copy=True) for _ in range(batch_size)]
        async with conn.transaction(), conn.cursor() as cursor, cursor.copy(COPY) as copy:
            for row in rows:
                await copy.write_row(row)
        return batch_size

    return await _closed_loop(
        dsn, concurrency=concurrency, warmup_s=warmup_s, duration_s=duration_s, step=copy_batch
    )
