"""Describing a PersistentVolumeClaim: binding, StorageClass and capacity; Pending and Lost flagged.

A claim costs one GET for its StorageClass and one per owner level.
"""

from __future__ import annotations

from clusterdoc.report import Facts, Severity
from clusterdoc.workers.cluster.base import ClusterError, NotFound, Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps.common import age
from clusterdoc.workers.steps.describe.parts import Described, chain_facts, conditions_table


def describe_pvc(ctx: StepContext, pvc: Obj) -> Described:
    """The claim's facts and conditions; a missing StorageClass, Pending (unless waiting for a consumer), Lost."""
    meta, spec, status = pvc.get("metadata") or {}, pvc.get("spec") or {}, pvc.get("status") or {}
    name, phase = meta.get("name", "?"), status.get("phase", "?")
    out = Described(f"PersistentVolumeClaim {meta.get('namespace')}/{name}: {phase}")
    class_name = spec.get("storageClassName")
    binding_mode = ""
    class_text = class_name or "none (the cluster default applies only at creation)"
    if class_name:
        try:
            storage_class = ctx.cluster.get("StorageClass", class_name)
            binding_mode = storage_class.get("volumeBindingMode") or "Immediate"
            class_text = f"{class_name} ({storage_class.get('provisioner', '?')}, {binding_mode})"
        except NotFound:
            class_text = f"{class_name} (no such StorageClass)"
            out.flag(Severity.WARNING, f"PVC {name} names StorageClass {class_name}, which does not exist")
        except ClusterError:
            pass
    requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "?")
    facts = [
        ("Status", phase), ("StorageClass", class_text), ("Volume", spec.get("volumeName") or "none"),
        ("Access modes", ", ".join(spec.get("accessModes") or []) or "?"), ("Requested", str(requested)),
        ("Capacity", str((status.get("capacity") or {}).get("storage", "none"))),
        ("Volume mode", spec.get("volumeMode") or "Filesystem"), ("Age", age(meta.get("creationTimestamp"), ctx.now)),
    ]
    facts.extend(chain_facts(ctx, pvc))
    out.blocks.append(Facts(tuple(facts)))
    if status.get("conditions"):
        out.blocks.append(conditions_table(status["conditions"], ctx.now))
    if phase == "Pending":
        if binding_mode == "WaitForFirstConsumer":
            out.detail.append(f"PVC {name} waits for its first consumer to be scheduled (normal for "
                              f"WaitForFirstConsumer)")
        else:
            out.flag(Severity.WARNING, f"PVC {name} is Pending: no volume bound yet")
    elif phase == "Lost":
        out.flag(Severity.CRITICAL, f"PVC {name} is Lost: its PersistentVolume {spec.get('volumeName')} is gone")
    return out

