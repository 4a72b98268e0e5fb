"""Alertmanager intake: one Slack thread per incident, triaged automatically, kept up to date.

- :mod:`clusterdoc.bot.alerts.payload` — the webhook payload (version 4) as pydantic models, with the
  fingerprint and status older Alertmanagers leave out.
- :mod:`clusterdoc.bot.alerts.auth` — bearer-token or basic authentication of the webhook.
- :mod:`clusterdoc.alert_config` — the ``alerts:`` section of ``CLUSTERDOC_CONFIG``.
- :mod:`clusterdoc.bot.alerts.routing` — label matchers → channel and cluster; alertname → runbook; target.
- :mod:`clusterdoc.bot.alerts.intake` — records every alert in Redis before the webhook answers.
- :mod:`clusterdoc.bot.alerts.endpoint` — the ``POST /alerts`` Starlette endpoint.
- :mod:`clusterdoc.bot.alerts.incidents` — the incident store (incident → channel, root ts, alerts, status).
- :mod:`clusterdoc.bot.alerts.threads` — root messages and resolution edits.
- :mod:`clusterdoc.slack.pacing` — per-channel paced Slack calls, retries, and the retry list.
- :mod:`clusterdoc.bot.alerts.storm` — storm collapse and the bounded, most-severe-first triage queue.
- :mod:`clusterdoc.bot.alerts.dispatcher` — applies recorded deliveries to incidents (runs in ``serve``).
"""
