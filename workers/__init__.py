"""What ``clusterdoc worker`` runs: cluster access, runbooks, steps, analysis, remediation, and the
RQ jobs that post findings (through :mod:`clusterdoc.slack`). Nothing here imports ``clusterdoc.bot``.
"""
