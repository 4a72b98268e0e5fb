"""Pending actions in Redis, with atomic state transitions.

One hash per pending action (``clusterdoc:pending:<id>``): the record as JSON, its ``state``
(``pending`` → ``claimed`` → ``done``, or ``dismissed`` / ``expired``), the approvers so far and
the expiry. Approval and dismissal are Lua scripts, so concurrent clicks, Slack's retried
deliveries and two approvers pressing at the same moment are serialised by Redis: exactly one
caller ever sees ``claimed`` and runs the action. Keys outlive their expiry by a week so a late
click is answered "expired", not "unknown".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from bot.approvals.pending import PendingAction

PREFIX = "clusterdoc:pending:"
KEEP_AFTER_EXPIRY = 7 * 24 * 3600

# KEYS[1] pending hash; ARGV: now, approver, approvals needed
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
  redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimed_at', ARGV[1])
  return {'claimed', approvers}
end
return {'recorded', approvers}
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
    """

    result: str
    approvers: tuple[str, ...] = field(default_factory=tuple)


class PendingStore:
    """Create, read and atomically move pending actions."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection
        self._approve = connection.register_script(_APPROVE)
        self._close = connection.register_script(_CLOSE)

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

    def approve(self, pending_id: str, approver: str, needed: int, now: float) -> Transition:
        result, approvers = self._approve(keys=[self.key(pending_id)], args=[repr(now), approver, needed])
        return _transition(result, approvers)

    def dismiss(self, pending_id: str, actor: str, now: float) -> Transition:
        result, approvers = self._close(keys=[self.key(pending_id)], args=[repr(now), "dismissed", actor])
        return _transition(result, approvers)

    def expire(self, pending_id: str, now: float) -> Transition:
        result, approvers = self._close(keys=[self.key(pending_id)], args=[repr(now), "expired", ""])
        return _transition(result, approvers)

    def finish(self, pending_id: str, status: str, outcome: str) -> None:
        """Record the outcome of a claimed action (state ``done``)."""
        self.redis.hset(self.key(pending_id), mapping={"state": "done", "status": status, "outcome": outcome})


def _transition(result: bytes, approvers: bytes | None) -> Transition:
    return Transition(result.decode(), tuple(json.loads(approvers or b"[]")))
