"""The load: the HTTP scenarios, driven with aiohttp (keep-alive connection pool, asyncio) from
the bench's own process, never from inside the server's.

- `closed_loop`: N clients, each sending its next request as soon as the last one answered;
  requests answered inside the measured window (after a warm-up) count.
- `alert_latency`: an open-loop background of normal readings at a fixed rate while abnormal
  readings are posted one at a time; each is timed from just before its POST is sent until its
  Alert row exists (polled through psycopg on a connection of its own).
- `availability`: one scheduler asking for the free slots of given days, one request at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import psycopg

VITALS_PATH = "/api/v1/sessions/{session_id}/vitals/"
NORMAL = {
    "systolic": 118,
    "diastolic": 76,
    "heart_rate": 72,
    "spo2": 98,
    "respiratory_rate": 14,
    "temperature_c": "36.8",
    "consciousness": "alert",
    "on_oxygen": False,
}
# Systolic 190 is critical (>= 180) and 72 mmHg over the baseline: alerts, and a page.
ABNORMAL = {**NORMAL, "systolic": 190, "diastolic": 100, "heart_rate": 96}
ALERT_TIMEOUT_S = 15.0
ALERT_POLL_INTERVAL_S = 0.005
# Open loop: at most this many background requests in flight; beyond it a send is skipped
# (and counted), so that a saturated server shows up as a lower achieved rate.
BACKGROUND_MAX_IN_FLIGHT = 64


def reading(values: dict[str, Any], *, taken_at: datetime | None = None) -> dict[str, Any]:
    """A reading as a tablet sends it: its own UUID, the device's clock."""
    return {
        "id": str(uuid.uuid4()),
        "taken_at": (taken_at or datetime.now(UTC)).isoformat(),
        **values,
    }


def batch(size: int) -> list[dict[str, Any]]:
    """Readings a tablet kept while offline, sent together: one a minute, oldest first."""
    now = datetime.now(UTC)
    return [
        reading(NORMAL, taken_at=now - timedelta(minutes=size - index)) for index in range(size)
    ]


@dataclass
class ApiClient:
    http: aiohttp.ClientSession
    token: str
    session_ids: tuple[int, ...] = ()
    _turn: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def next_session(self) -> int:
        """The client's sessions in turn (a nurse looks after two patients)."""
        self._turn += 1
        return self.session_ids[self._turn % len(self.session_ids)]

    async def get(self, path: str) -> int:
        async with self.http.get(path) as response:
            await response.read()
            return response.status

    async def post_vitals(self, body: Any, session_id: int | None = None) -> int:
        path = VITALS_PATH.format(session_id=session_id or self.next_session())
        async with self.http.post(path, json=body, headers=self.headers) as response:
            await response.read()
            return response.status


@asynccontextmanager
async def http_session(base_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=256, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        base_url=base_url, connector=connector, timeout=timeout
    ) as http:
        yield http


async def login(
    http: aiohttp.ClientSession,
    username: str,
    password: str,
    session_ids: tuple[int, ...] = (),
) -> ApiClient:
    body = {"username": username, "password": password}
    async with http.post("/api/v1/auth/login/", json=body) as response:
        payload = await response.json()
        if response.status != 200:
            raise RuntimeError(f"login of {username} failed: {response.status} {payload}")
    return ApiClient(http=http, token=payload["token"], session_ids=session_ids)


# --- Closed loop ---------------------------------------------------------------------------------


@dataclass
class LoopResult:
    requests: int
    readings: int
    seconds: float
    latencies_ms: list[float]
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds


async def closed_loop(
    clients: list[ApiClient],
    *,
    warmup_s: float,
    duration_s: float,
    send: Callable[[ApiClient, Any], Awaitable[int]],
    make_body: Callable[[], Any],
    readings_per_request: int,
    expected_status: int = 201,
) -> LoopResult:
    """`send(client, body)` returns the status; bodies are made before the clock starts."""
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup_s
    end = start + duration_s
    result = LoopResult(requests=0, readings=0, seconds=duration_s, latencies_ms=[])

    async def client_loop(client: ApiClient) -> None:
        while loop.time() < end:
            body = make_body()
            sent = loop.time()
            try:
                status = await send(client, body)
            except (aiohttp.ClientError, TimeoutError) as error:
                status, outcome = 0, type(error).__name__
            else:
                outcome = str(status)
            done = loop.time()
            if not start <= done <= end:
                continue
            if status == expected_status:
                result.requests += 1
                result.readings += readings_per_request
                result.latencies_ms.append((done - sent) * 1000)
            else:
                result.errors[outcome] += 1

    await asyncio.gather(*(client_loop(client) for client in clients))
    return result


# --- Abnormal reading -> alert ---------------------------------------------------------------


@dataclass
class AlertResult:
    latencies_ms: list[float]
    post_ms: list[float]
    timeouts: int
    background_readings_per_s: float
    background_target_per_s: float
    background_skipped: int
    errors: Counter[str] = field(default_factory=Counter)


async def _background(
    clients: list[ApiClient], rate: float, stop: asyncio.Event, result: AlertResult
) -> None:
    """Normal readings at `rate` per second, evenly spaced, whatever the answers' speed."""
    loop = asyncio.get_running_loop()
    interval = 1 / rate
    in_flight: set[asyncio.Task[None]] = set()
    answered = 0

    async def one(client: ApiClient) -> None:
        nonlocal answered
        try:
            status = await client.post_vitals(reading(NORMAL))
        except (aiohttp.ClientError, TimeoutError) as error:
            result.errors[f"background {type(error).__name__}"] += 1
            return
        if status == 201:
            answered += 1
        else:
            result.errors[f"background {status}"] += 1

    began = loop.time()
    next_at = began
    sent = 0
    while not stop.is_set():
        if len(in_flight) < BACKGROUND_MAX_IN_FLIGHT:
            task = asyncio.create_task(one(clients[sent % len(clients)]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        else:
            result.background_skipped += 1
        sent += 1
        next_at += interval
        delay = next_at - loop.time()
        if delay > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
    elapsed = loop.time() - began
    await asyncio.gather(*in_flight)
    result.background_readings_per_s = answered / elapsed


async def _alert_exists(conn: psycopg.AsyncConnection[Any], reading_id: str) -> bool:
    cursor = await conn.execute(
        "SELECT 1 FROM monitoring_alert WHERE reading_id = %s LIMIT 1", [reading_id]
    )
    return await cursor.fetchone() is not None


async def alert_latency(
    prober: ApiClient,
    background: list[ApiClient],
    *,
    dsn: str,
    samples: int,
    background_rate: float,
    warmup_s: float,
    rng: random.Random,
) -> AlertResult:
    result = AlertResult(
        latencies_ms=[],
        post_ms=[],
        timeouts=0,
        background_readings_per_s=0.0,
        background_target_per_s=background_rate,
        background_skipped=0,
    )
    stop = asyncio.Event()
    background_task = asyncio.create_task(_background(background, background_rate, stop, result))
    try:
        await asyncio.sleep(warmup_s)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            for _ in range(samples):
                body = reading(ABNORMAL)
                sent = time.perf_counter()
                try:
                    status = await prober.post_vitals(body)
                except (aiohttp.ClientError, TimeoutError) as error:
                    result.errors[f"abnormal {type(error).__name__}"] += 1
                    continue
                answered = time.perf_counter()
                if status != 201:
                    result.errors[f"abnormal {status}"] += 1
                    continue
                result.post_ms.append((answered - sent) * 1000)
                while not await _alert_exists(conn, body["id"]):
                    if time.perf_counter() - sent > ALERT_TIMEOUT_S:
                        result.timeouts += 1
                        break
                    await asyncio.sleep(ALERT_POLL_INTERVAL_S)
                else:
                    result.latencies_ms.append((time.perf_counter() - sent) * 1000)
                # Abnormal readings arrive at random moments, not in step with anything.
                await asyncio.sleep(rng.uniform(0.05, 0.25))
    finally:
        stop.set()
        await background_task
    return result


# --- Flagging backlog ----------------------------------------------------------------------------


async def _unflagged(conn: psycopg.AsyncConnection[Any]) -> int:
    cursor = await conn.execute(
        "SELECT count(*) FROM monitoring_vitalreading WHERE flagged_at IS NULL"
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def wait_until_flagged(dsn: str, *, timeout_s: float) -> tuple[float, int, int]:
    """Wait until the workers have flagged every reading: (seconds waited, readings unflagged
    at the start, readings still unflagged at the end)."""
    began = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        backlog = left = await _unflagged(conn)
        while left and time.perf_counter() - began < timeout_s:
            await asyncio.sleep(0.25)
            left = await _unflagged(conn)
    return time.perf_counter() - began, backlog, left


async def settle(dsn: str) -> float:
    """Write out what the last scenario left dirty (CHECKPOINT), so that its writes are not
    flushed during the next one's measurement; the seconds it took."""
    began = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):  # not a superuser
            await conn.execute("CHECKPOINT")
    return time.perf_counter() - began


async def flagging_rate(dsn: str, *, seconds: float) -> tuple[float, int]:
    """Readings flagged per second while a backlog drains, over `seconds` (or until it is
    gone), and the backlog at the start."""
    began = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        backlog = left = await _unflagged(conn)
        while left and time.perf_counter() - began < seconds:
            await asyncio.sleep(0.25)
            left = await _unflagged(conn)
    return (backlog - left) / (time.perf_counter() - began), backlog


# --- Availability --------------------------------------------------------------------------------


@dataclass
class AvailabilityResult:
    latencies_ms: list[float]
    slots: list[int]
    errors: Counter[str] = field(default_factory=Counter)


async def availability(
    client: ApiClient,
    *,
    clinic_id: int,
    protocol_id: int,
    days: list[date],
    warmup_days: list[date],
) -> AvailabilityResult:
    result = AvailabilityResult(latencies_ms=[], slots=[])
    for measured, day in [(False, d) for d in warmup_days] + [(True, d) for d in days]:
        params = {"clinic": str(clinic_id), "protocol": str(protocol_id), "date": day.isoformat()}
        sent = time.perf_counter()
        try:
            async with client.http.get(
                "/api/v1/availability/", params=params, headers=client.headers
            ) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            result.errors[type(error).__name__] += 1
            continue
        elapsed_ms = (time.perf_counter() - sent) * 1000
        if not measured:
            continue
        if status != 200:
            result.errors[str(status)] += 1
            continue
        result.latencies_ms.append(elapsed_ms)
        result.slots.append(len(json.loads(body)["results"]))
    return result
