"""Storms and the triage queue.

**Storm**: more than ``threshold`` new incidents within ``window_seconds`` in one channel. From
then on, new incidents in that channel get no root of their own: they are folded into one
storm root that lists incidents by alertname with firing/total counts and is edited in place
(at most every ``update_seconds``). The storm lasts while new incidents keep coming within the
window.

**Triage queue**: triage items wait in a Redis sorted set ordered most severe first, then
oldest first; :meth:`TriageQueue.pump` hands them to the cluster queues while fewer than
``triage_concurrency`` are in flight. A triage job removes itself from the in-flight set when
it ends (``workers.alert_jobs``); an in-flight entry whose job died expires after its timeout.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from clusterdoc.alert_config import StormSettings
from clusterdoc.queue import TRIAGE_INFLIGHT_KEY as INFLIGHT_KEY

STORM_PREFIX = "clusterdoc:storm:"
DIRTY_STORMS = "clusterdoc:storms:dirty"
PENDING_KEY = "clusterdoc:triage:pending"
ITEMS_KEY = "clusterdoc:triage:items"
SEQUENCE_KEY = "clusterdoc:triage:seq"

# KEYS: pending zset, items hash, inflight zset. ARGV: now, limit, timeout. Moves up to (limit - inflight)
# items from pending to in flight (member = item id, score = deadline) and returns them.
_POP_READY = """
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
local room = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[3])
if room <= 0 then return {} end
local ids = redis.call('ZRANGE', KEYS[1], 0, room - 1)
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[1]) + tonumber(ARGV[3]), id)
  local item = redis.call('HGET', KEYS[2], id)
  redis.call('HDEL', KEYS[2], id)
  if item then table.insert(out, item) end
end
return out
"""


@dataclass(frozen=True)
class Storm:
    """An active storm in a channel: its id and the ts of its root."""

    id: str
    channel: str
    ts: str
    started_at: float


@dataclass(frozen=True)
class StormView:
    """A storm root's content: incidents by alertname as (name, firing, total), and the triage counts."""

    id: str
    channel: str
    ts: str
    started_at: float
    counts: list[tuple[str, int, int]]
    incidents: int
    triaged: int
    skipped: int


class StormTracker:
    """Counts new incidents per channel and folds them into a storm root beyond the threshold."""

    def __init__(self, redis: Redis, settings: StormSettings, ttl_seconds: int) -> None:
        self.redis = redis
        self.settings = settings
        self.ttl = ttl_seconds

    def _active_key(self, channel: str) -> str:
        return f"{STORM_PREFIX}{channel}:active"

    def note_new_incident(self, channel: str, incident: str, now: float) -> bool:
        """Count a new incident; True when the channel is (now) in a storm."""
        window = f"{STORM_PREFIX}{channel}:new"
        pipe = self.redis.pipeline()
        pipe.zadd(window, {incident: now})
        pipe.zremrangebyscore(window, "-inf", now - self.settings.window_seconds)
        pipe.zcard(window)
        pipe.expire(window, self.settings.window_seconds * 2)
        pipe.exists(self._active_key(channel))
        _, _, count, _, active = pipe.execute()
        return bool(active) or int(count) > self.settings.threshold

    def active(self, channel: str) -> Storm | None:
        raw = self.redis.get(self._active_key(channel))
        if not raw:
            return None
        data = json.loads(raw)
        return Storm(data["id"], channel, data["ts"], data["started_at"])

    def start(self, channel: str, now: float, post_root: Callable[[Storm], str]) -> Storm | None:
        """The channel's active storm, starting one (and posting its root) if there is none.

        None when the storm has no root to fold into: its root could not be posted (the storm is
        dropped, so the next new incident tries again) or another process is still posting it.
        """
        current = self.active(channel)
        if current is not None:
            return current if current.ts else None
        storm = Storm(uuid.uuid4().hex[:16], channel, "", now)
        placeholder = json.dumps({"id": storm.id, "ts": "", "started_at": now})
        if not self.redis.set(self._active_key(channel), placeholder, nx=True, ex=self.settings.window_seconds):
            current = self.active(channel)
            return current if current is not None and current.ts else None
        ts = post_root(storm)
        if not ts:
            self.redis.delete(self._active_key(channel))
            return None
        storm = Storm(storm.id, channel, ts, now)
        self.redis.set(self._active_key(channel), json.dumps({"id": storm.id, "ts": ts, "started_at": now}),
                       ex=self.settings.window_seconds)
        self.redis.set(f"{STORM_PREFIX}{storm.id}:meta", json.dumps(
            {"channel": channel, "ts": ts, "started_at": now}), ex=self.ttl)
        return storm

    def add(self, storm: Storm, alertname: str, firing: int, total: int) -> None:
        """Count one incident of ``alertname`` into the storm and keep the storm going."""
        pipe = self.redis.pipeline()
        pipe.hincrby(f"{STORM_PREFIX}{storm.id}:firing", alertname, firing)
        pipe.hincrby(f"{STORM_PREFIX}{storm.id}:total", alertname, total)
        pipe.incr(f"{STORM_PREFIX}{storm.id}:incidents")
        for suffix in ("firing", "total", "incidents"):
            pipe.expire(f"{STORM_PREFIX}{storm.id}:{suffix}", self.ttl)
        pipe.expire(self._active_key(storm.channel), self.settings.window_seconds)
        pipe.sadd(DIRTY_STORMS, storm.id)
        pipe.execute()

    def change(self, storm_id: str, alertname: str, firing_delta: int, total_delta: int = 0) -> None:
        """An incident in the storm changed its firing (or total) count."""
        pipe = self.redis.pipeline()
        pipe.hincrby(f"{STORM_PREFIX}{storm_id}:firing", alertname, firing_delta)
        if total_delta:
            pipe.hincrby(f"{STORM_PREFIX}{storm_id}:total", alertname, total_delta)
        pipe.sadd(DIRTY_STORMS, storm_id)
        pipe.execute()

    def take_triage(self, storm_id: str) -> bool:
        """Whether one more alert of the storm may be triaged (``max_triage``); counts the skipped ones."""
        taken = int(self.redis.incr(f"{STORM_PREFIX}{storm_id}:triaged"))
        self.redis.expire(f"{STORM_PREFIX}{storm_id}:triaged", self.ttl)
        if taken <= self.settings.max_triage:
            return True
        pipe = self.redis.pipeline()
        pipe.incr(f"{STORM_PREFIX}{storm_id}:skipped")
        pipe.expire(f"{STORM_PREFIX}{storm_id}:skipped", self.ttl)
        pipe.sadd(DIRTY_STORMS, storm_id)
        pipe.execute()
        return False

    def due_updates(self, now: float) -> list[StormView]:
        """Dirty storms whose root may be edited now (at most every ``update_seconds``)."""
        due = []
        for raw_id in self.redis.smembers(DIRTY_STORMS):
            storm_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            stamp = f"{STORM_PREFIX}{storm_id}:updated"
            if not self.redis.set(stamp, now, nx=True, px=max(int(self.settings.update_seconds * 1000), 1)):
                continue
            self.redis.srem(DIRTY_STORMS, storm_id)
            view = self.view(storm_id)
            if view is not None:
                due.append(view)
        return due

    def view(self, storm_id: str) -> StormView | None:
        """What the storm root shows, read from Redis."""
        meta_raw = self.redis.get(f"{STORM_PREFIX}{storm_id}:meta")
        if not meta_raw:
            return None
        meta = json.loads(meta_raw)
        firing = self.redis.hgetall(f"{STORM_PREFIX}{storm_id}:firing")
        total = self.redis.hgetall(f"{STORM_PREFIX}{storm_id}:total")
        counts = [(name.decode(), int(firing.get(name, 0)), int(value)) for name, value in total.items()]
        numbers = [int(self.redis.get(f"{STORM_PREFIX}{storm_id}:{suffix}") or 0)
                   for suffix in ("incidents", "triaged", "skipped")]
        return StormView(storm_id, meta["channel"], meta["ts"], float(meta["started_at"]), counts, numbers[0],
                         min(numbers[1], self.settings.max_triage), numbers[2])


class TriageQueue:
    """Triage items by severity, handed out while fewer than ``limit`` are in flight."""

    def __init__(self, redis: Redis, limit: int, timeout_seconds: int) -> None:
        self.redis = redis
        self.limit = limit
        self.timeout = timeout_seconds
        self._pop = redis.register_script(_POP_READY)

    def submit(self, items: list[tuple[dict[str, Any], int]]) -> None:
        """Queue ``(item, severity_rank)`` pairs; higher rank goes first, then first come first served."""
        if not items:
            return
        last = int(self.redis.incrby(SEQUENCE_KEY, len(items)))
        pipe = self.redis.pipeline(transaction=True)
        for offset, (item, severity_rank) in enumerate(items):
            item_id = uuid.uuid4().hex
            sequence = last - len(items) + 1 + offset
            pipe.hset(ITEMS_KEY, item_id, json.dumps({**item, "item_id": item_id}))
            pipe.zadd(PENDING_KEY, {item_id: (10 - severity_rank) * 1e12 + sequence})
        pipe.execute()

    def pump(self, enqueue: Callable[[dict[str, Any]], str], now: float | None = None) -> int:
        """Hand ready items to ``enqueue`` while there is room; returns how many were started.

        ``enqueue`` returns the job id, or ``""`` when it declined the item (and freed its slot):
        then the next items are taken at once.
        """
        current = time.time() if now is None else now
        started = 0
        while True:
            popped = self._pop(keys=[PENDING_KEY, ITEMS_KEY, INFLIGHT_KEY], args=[current, self.limit, self.timeout])
            declined = 0
            for raw in popped:
                if enqueue(json.loads(raw)):
                    started += 1
                else:
                    declined += 1
            if not popped or not declined:
                return started

    def pending(self) -> int:
        return int(self.redis.zcard(PENDING_KEY))

    def in_flight(self) -> int:
        return int(self.redis.zcard(INFLIGHT_KEY))
