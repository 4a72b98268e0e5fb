"""What ``clusterdoc serve`` runs: the Bolt app, ``/k8s`` parsing, Alertmanager intake and dispatch,
and the Approve/Dismiss listeners.

This package never holds cluster credentials and never imports the ``kubernetes`` client, a cluster
backend, remediation code or the worker's jobs (import-linter contracts in ``pyproject.toml``): it
enqueues jobs through :mod:`clusterdoc.queue` that ``clusterdoc.workers`` runs.
"""
