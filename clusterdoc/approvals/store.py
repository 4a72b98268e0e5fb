"""Pending actions in Redis, with atomic state transitions.

One hash per pending action (``clusterdoc:pending:<id>``): the record as JSON, its ``state``
(``pending`` → ``claimed`` → ``done``, or ``dismissed`` / ``expired``), the approvers so far and
the expiry. A claim carries a deadline (the click job's timeout plus a margin) and is listed in
the sorted set ``clusterdoc:claims`` until it is finished; a claim still there past its deadline
belongs to a worker that stopped mid-execution, and :meth:`PendingStore.abandon` closes it as
``done`` with status ``unknown`` — exactly once, and without ever running the action again.
Approval, dismissal and abandonment are Lua scripts, so concurrent clicks, Slack's retried
deliveries and two approvers pressing at the same moment are serialised by Redis: exactly one
caller ever sees ``claimed`` and runs the action. Keys outlive their expiry by a week so a late
click is answered "expired", not "unknown".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from clusterdoc.approvals.pending import PendingAction

PREFIX = "clusterdoc:pending:"
CLAIMS = "clusterdoc:claims"
KEEP_AFTER_EXPIRY = 7 * 24 * 3600
CLAIM_TIMEOUT_SECONDS = 3900
"""How long a claimed action may run: the click job's RQ timeout (longer than the longest drain)."""
CLAIM_MARGIN_SECONDS = 120
"""Added to the timeout for the claim's deadline: RQ kills a work horse shortly after its timeout."""

# KEYS[1] pending hash, KEYS[2] claims sorted set; ARGV: now, approver, approvals needed, claim deadline, id
_APPROVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '[]'} end
local state = redis.call('HGET', KEYS[1], 'state')
local approvers = redis.call('HGET', KEYS[1], 'approvers')
if state ~= 'pending' then return {'was_' .. state, approvers} end
if tonumber(ARGV[1]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  return {'expired_now', approvers}
end
local list = cjson.decode(approvers)
for _, who in ipairs(list) do
  if who == ARGV[2] then return {'already_approved', approvers} end
end
table.insert(list, ARGV[2])
approvers = cjson.encode(list)
redis.call('HSET', KEYS[1], 'approvers', approvers)
if #list >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimed_at', ARGV[1], 'claim_deadline', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  return {'claimed', approvers}
end
return {'recorded', approvers}
"""

# KEYS[1] pending hash, KEYS[2] claims sorted set; ARGV: now, pending id, outcome
_ABANDON = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'claimed' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return {'was_' .. (state or 'missing'), redis.call('HGET', KEYS[1], 'approvers') or '[]'}
end
local approvers = redis.call('HGET', KEYS[1], 'approvers')
if tonumber(ARGV[1]) < tonumber(redis.call('HGET', KEYS[1], 'claim_deadline') or '0') then
  return {'running', approvers}
end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', 'unknown', 'outcome', ARGV[3], 'abandoned_at', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return {'abandoned_now', approvers}
"""

# KEYS[1] pending hash; ARGV: now, new state (dismissed|expired), actor
_CLOSE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '[]'} end
local state = redis.call('HGET', KEYS[1], 'state')
local approvers = redis.call('HGET', KEYS[1], 'approvers')
if state ~= 'pending' then return {'was_' .. state, approvers} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'closed_by', ARGV[3], 'closed_at', ARGV[1])
return {ARGV[2] .. '_now', approvers}
"""


@dataclass(frozen=True)
class Transition:
    """What an atomic approve/close call found or did.

    ``result`` for approve: ``claimed`` (this caller, and only this one, runs the action),
    ``recorded`` (more approvers needed), ``already_approved`` (this person approved before),
    ``expired_now`` (this call found it expired and marked it so); for dismiss/expire:
    ``dismissed_now``/``expired_now``. Otherwise ``was_<state>`` (``was_claimed``, ``was_done``,
    ``was_dismissed``, ``was_expired``): someone else got there first. ``missing``: unknown id.
    For abandon: ``abandoned_now`` (this call closed a claim past its deadline), ``running`` (the
    claim's deadline has not passed), or ``was_<state>`` (not claimed any more).
    """

    result: str
    approvers: tuple[str, ...] = field(default_factory=tuple)


class PendingStore:
    """Create, read and atomically move pending actions."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection
        self._approve = connection.register_script(_APPROVE)
        self._close = connection.register_script(_CLOSE)
        self._abandon = connection.register_script(_ABANDON)

    @staticmethod
    def key(pending_id: str) -> str:
        return PREFIX + pending_id

    def create(self, pending: PendingAction) -> None:
        key = self.key(pending.id)
        self.redis.hset(key, mapping={
            "record": json.dumps(pending.to_json()),
            "state": "pending",
            "approvers": "[]",
            "expires_at": repr(pending.expires_at),
        })
        self.redis.expireat(key, int(pending.expires_at) + KEEP_AFTER_EXPIRY)

    def get(self, pending_id: str) -> PendingAction | None:
        raw = self.redis.hget(self.key(pending_id), "record")
        return PendingAction.from_json(json.loads(raw)) if raw else None

    def state(self, pending_id: str) -> dict[str, Any]:
        """Every field but the record, decoded (``state``, ``approvers``, ``outcome``...)."""
        raw = self.redis.hgetall(self.key(pending_id))
        fields = {k.decode(): v.decode() for k, v in raw.items() if k != b"record"}
        if "approvers" in fields:
            fields["approvers"] = json.loads(fields["approvers"])
        return fields

    def set_message(self, pending_id: str, channel: str, message_ts: str) -> None:
        """Remember where the buttons were posted (known only after posting)."""
        pending = self.get(pending_id)
        if pending is None:
            return
        pending.channel, pending.message_ts = channel, message_ts
        self.redis.hset(self.key(pending_id), "record", json.dumps(pending.to_json()))

    def approve(
        self, pending_id: str, approver: str, needed: int, now: float, claim_timeout: float = CLAIM_TIMEOUT_SECONDS,
    ) -> Transition:
        """Add ``approver``; the call that completes the approvals claims the action until
        ``now + claim_timeout + CLAIM_MARGIN_SECONDS``."""
        deadline = now + claim_timeout + CLAIM_MARGIN_SECONDS
        result, approvers = self._approve(
            keys=[self.key(pending_id), CLAIMS], args=[repr(now), approver, needed, repr(deadline), pending_id],
        )
        return _transition(result, approvers)

    def dismiss(self, pending_id: str, actor: str, now: float) -> Transition:
        result, approvers = self._close(keys=[self.key(pending_id)], args=[repr(now), "dismissed", actor])
        return _transition(result, approvers)

    def expire(self, pending_id: str, now: float) -> Transition:
        result, approvers = self._close(keys=[self.key(pending_id)], args=[repr(now), "expired", ""])
        return _transition(result, approvers)

    def finish(self, pending_id: str, status: str, outcome: str) -> None:
        """Record the outcome of a claimed action (state ``done``); it is no longer a running claim.

        Also after :meth:`abandon` (a worker slower than its deadline): the real outcome wins."""
        pipe = self.redis.pipeline()
        pipe.hset(self.key(pending_id), mapping={"state": "done", "status": status, "outcome": outcome})
        pipe.zrem(CLAIMS, pending_id)
        pipe.execute()

    def stalled(self, now: float) -> list[str]:
        """Ids of claims whose deadline has passed without an outcome (their worker stopped)."""
        return [raw.decode() for raw in self.redis.zrangebyscore(CLAIMS, "-inf", repr(now))]

    def abandon(self, pending_id: str, now: float, outcome: str) -> Transition:
        """Close a claim past its deadline as ``done``/``unknown`` (once; nothing is re-run)."""
        result, approvers = self._abandon(keys=[self.key(pending_id), CLAIMS], args=[repr(now), pending_id, outcome])
        return _transition(result, approvers)


def _transition(result: bytes, approvers: bytes | None) -> Transition:
    return Transition(result.decode(), tuple(json.loads(approvers or b"[]")))
