"""Reusable test harness: real processes and protocol-level fakes, never patched code.

- :mod:`tests.harness.ports` — free loopback ports.
- :mod:`tests.harness.redis_server` — a real ``redis-server`` in a temp dir.
- :mod:`tests.harness.fake_kube` — a Kubernetes API server over the real REST paths, fed by a
  snapshot, with injectable faults and a request log.
- :mod:`tests.harness.fake_slack` — the Slack Web API as ``slack_sdk`` calls it, recording calls.
- :mod:`tests.harness.signing` — Slack request signatures and slash-command payloads.

The pytest fixtures in ``tests/conftest.py`` are thin wrappers over these classes.
"""
