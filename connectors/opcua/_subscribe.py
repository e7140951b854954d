"""Data-change subscriptions, sharded over sessions, with every outage reported as a ``Gap``.

One *shard* is one asyncua subscription on one session holding at most ``session_tag_budget`` tags. The
first shard of an endpoint uses the connector's own session; further shards open their own sessions (an
asyncua server slows down well before 10,000 items on one session). All shards feed one queue.

Outages: asyncua's supervisor reconnects and restores the subscription (see ``_session.py``). We watch the
client's state: when it leaves ``CONNECTED`` the shard remembers the time of the last publish response
(data or keep-alive) as the gap start; when it is ``CONNECTED`` again the ``Gap`` is queued *before* any
sample of the restored subscription (the handler flushes a pending gap before delivering).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.common.node import Node
from asyncua.ua import uaerrors

from factorypilot.connectors.opcua._session import close_client, map_error, safe_url
from factorypilot.connectors.opcua._values import sample_from
from factorypilot.vocabulary import Gap, Sample, utcnow

__all__ = ["ShardPlan", "subscribe_shards"]

_log = logging.getLogger("factorypilot.connectors.opcua")


@dataclass
class ShardPlan:
    url: str
    tag_ids: list[str]
    node_ids: list[ua.NodeId]
    own_session: bool


@dataclass
class _Shard:
    plan: ShardPlan
    queue: asyncio.Queue[Sample | Gap]
    client: Client
    ids: dict[ua.NodeId, str] = field(default_factory=dict)
    sub: Any = None
    down_since: datetime | None = None
    last_alive: float = field(default_factory=time.monotonic)

    def last_good(self) -> datetime:
        last = self.last_alive
        if self.sub is not None and self.sub.last_publish_at is not None:
            last = max(last, self.sub.last_publish_at)
        return utcnow() - timedelta(seconds=max(0.0, time.monotonic() - last))

    def on_state(self, state: UaClientState) -> None:
        if state is UaClientState.CONNECTED:
            self.flush_gap()
        elif state in (UaClientState.DISCONNECTED, UaClientState.RECONNECTING) and self.down_since is None:
            self.down_since = self.last_good()
            _log.info("lost %s; reconnecting (data since %s is missing)", safe_url(self.plan.url),
                      self.down_since.isoformat())

    def flush_gap(self) -> None:
        if self.down_since is None or self.client.uaclient.state is not UaClientState.CONNECTED:
            return
        gap = Gap(connector="opcua", tag_ids=tuple(self.plan.tag_ids), start=self.down_since, end=utcnow(),
                  reason=f"connection to {safe_url(self.plan.url)} lost; reconnected and subscription restored")
        self.down_since = None
        # one INFO line per outage (its start); the end is in the Gap handed to the consumer and at DEBUG here
        _log.debug("restored %s after %.1f s", safe_url(self.plan.url), gap.seconds or 0.0)
        self.queue.put_nowait(gap)

    # asyncua handler protocol (called in publish order)
    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        self.flush_gap()
        self.last_alive = time.monotonic()
        tag_id = self.ids.get(node.nodeid, node.nodeid.to_string())
        self.queue.put_nowait(sample_from(tag_id, data.monitored_item.Value))

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        _log.info("subscription status of %s: %s", safe_url(self.plan.url), status.Status)


async def _watch_state(shard: _Shard) -> None:
    async with shard.client.uaclient.subscribe_state() as states:
        while True:
            shard.on_state(await states.next_change())


async def _start_shard(shard: _Shard, period: float) -> None:
    shard.ids = dict(zip(shard.plan.node_ids, shard.plan.tag_ids, strict=True))
    shard.sub = await shard.client.create_subscription(max(period, 0.01) * 1000, shard)
    nodes = [shard.client.get_node(n) for n in shard.plan.node_ids]
    await shard.sub.subscribe_data_change(nodes, queuesize=10)


async def subscribe_shards(
    plans: list[ShardPlan],
    period: float,
    main_clients: dict[str, Client],
    open_extra: Callable[[str], Awaitable[Client]],
) -> AsyncGenerator[Sample | Gap, None]:
    """Run every shard and yield what they deliver until the consumer closes the generator."""
    queue: asyncio.Queue[Sample | Gap] = asyncio.Queue()
    shards: list[_Shard] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for plan in plans:
            client = await open_extra(plan.url) if plan.own_session else main_clients[plan.url]
            shard = _Shard(plan, queue, client)
            shards.append(shard)
            tasks.append(asyncio.create_task(_watch_state(shard)))
            try:
                await _start_shard(shard, period)
            except (TimeoutError, OSError, ConnectionError, uaerrors.UaError) as exc:
                raise map_error(exc, plan.url, "creating a subscription") from exc
        while True:
            yield await queue.get()
    finally:
        for task in tasks:
            task.cancel()
        for shard in shards:
            if shard.sub is not None:
                with contextlib.suppress(OSError, ConnectionError, asyncio.TimeoutError, uaerrors.UaError):
                    await asyncio.wait_for(shard.sub.delete(), 2.0)
            if shard.plan.own_session:
                await close_client(shard.client)
