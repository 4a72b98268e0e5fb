"""Approve-to-execute remediations: the catalogue of actions and the code that runs them.

Each action (one module under :mod:`clusterdoc.workers.remediation.actions`) declares its parameters, its
risk, the preconditions it re-checks right before running and what it changes. Every mutation
runs first as a server-side dry run (``dryRun=All``). Cluster writes go through
:class:`clusterdoc.workers.remediation.client.RemediationClient`; the diagnostic ``Cluster`` interface stays
read-only. :func:`clusterdoc.workers.remediation.runner.execute` is the single entry point a job calls.
"""
