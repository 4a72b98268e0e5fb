"""Approve-to-execute: pending actions in Redis, the approval policy, the audit trail, the click flow.

- :mod:`bot.approvals.pending` — the pending action record.
- :mod:`bot.approvals.store` — Redis storage with atomic (Lua) approval and dismissal.
- :mod:`bot.approvals.policy` — who may approve what (deny by default), two-person rule, expiry.
- :mod:`bot.approvals.usergroups` — Slack user-group members, cached with a TTL.
- :mod:`bot.approvals.audit` — the append-only audit stream and its log line.
- :mod:`bot.approvals.blocks` — Approve/Dismiss buttons and the decided-message blocks.
- :mod:`bot.approvals.service` — the decision and execution, run off the request path.
- :mod:`bot.approvals.listeners` — the Bolt action handlers: acknowledge, enqueue, nothing else.
"""
