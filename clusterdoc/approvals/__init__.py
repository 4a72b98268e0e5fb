"""Approval records both processes read: pending actions, their Redis store, the policy, the audit
trail, the offer blocks and Slack user-group lookups. Deciding and executing a click lives in
:mod:`clusterdoc.workers.approvals`; the Bolt listeners that enqueue clicks in
:mod:`clusterdoc.bot.approvals`.
"""
