"""Alertmanager intake: one Slack thread per incident, triaged automatically, kept up to date.

- :mod:`bot.alerts.payload` — the webhook payload (version 4) as pydantic models, with the
  fingerprint and status older Alertmanagers leave out.
- :mod:`bot.alerts.auth` — bearer-token or basic authentication of the webhook.
- :mod:`bot.alerts.settings` — the ``alerts:`` section of ``CLUSTERDOC_CONFIG``.
- :mod:`bot.alerts.routing` — label matchers → channel and cluster; alertname → runbook; target.
- :mod:`bot.alerts.intake` — records every alert in Redis before the webhook answers.
- :mod:`bot.alerts.endpoint` — the ``POST /alerts`` Starlette endpoint.
- :mod:`bot.alerts.incidents` — the incident store (incident → channel, root ts, alerts, status).
- :mod:`bot.alerts.threads` — root messages and resolution edits.
- :mod:`bot.alerts.pacing` — per-channel paced Slack calls, retries, and the retry list.
- :mod:`bot.alerts.storm` — storm collapse and the bounded, most-severe-first triage queue.
- :mod:`bot.alerts.dispatcher` — applies recorded deliveries to incidents (runs in ``serve``).
"""
