"""clusterdoc: a Slack ChatOps assistant that tells which Kubernetes layer is broken, with evidence.

One import package, two processes. ``clusterdoc.bot`` is what ``clusterdoc serve`` runs (Slack
intake, alert intake, enqueueing; never cluster credentials); ``clusterdoc.workers`` is what
``clusterdoc worker`` runs (cluster access, runbooks, analysis, remediation, posting findings).
The modules at this level are shared by both: the queue contract (:mod:`clusterdoc.queue`),
settings (:mod:`clusterdoc.config`), the report model (:mod:`clusterdoc.report`) and its
renderers (:mod:`clusterdoc.render`), Slack clients and posting (:mod:`clusterdoc.slack`), and
the approval records both sides read (:mod:`clusterdoc.approvals`). In the repository, ``bot/``,
``workers/``, ``runbooks/`` and ``examples/`` sit at the top and are linked into this package.
"""

__version__ = "0.1.0"
