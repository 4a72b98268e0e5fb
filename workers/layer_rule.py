"""Which layer the evidence points at: one rule for every step and analysis that reaches a verdict.

The same stuck rollout must not read "workload layer" through ``describe`` and "controller layer"
through ``why-pending``. Steps and analyses decide *what* they saw; the layer that evidence
blames is decided here, once:

* the controller could not create pods (``FailedCreate`` events, a ``ReplicaFailure`` condition:
  exhausted ResourceQuota, an admission webhook, Pod Security) → ``controller``;
* a rollout is stuck (``ProgressDeadlineExceeded``) while its pods were created → ``workload``:
  the controller did its job, the new pods do not become available (crash loop, failing probe,
  image pull) — and when pod creation was refused, the first rule wins;
* a paused rollout → ``workload`` (someone paused it; the fix is in the workload's hands);
* a container that fails (crash loop, OOMKilled, bad image or config) → ``workload``.
"""

from __future__ import annotations

from typing import Final

CONTROLLER: Final = "controller"
WORKLOAD: Final = "workload"

POD_CREATION_REFUSED: Final = CONTROLLER
"""FailedCreate / ReplicaFailure: the controller cannot create the pods."""
CONTAINER_FAILING: Final = WORKLOAD
"""Crash loop, OOMKilled, image pull or configuration errors of a created pod."""
ROLLOUT_PAUSED: Final = WORKLOAD


def stuck_rollout(pod_creation_refused: bool) -> str:
    """The layer of a rollout past its progress deadline: the controller's when it cannot create the
    pods, else the workload's (the pods exist but do not become available)."""
    return POD_CREATION_REFUSED if pod_creation_refused else WORKLOAD
