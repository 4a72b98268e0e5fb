"""The approval flow off the request path: offer, decide, claim atomically, execute, report.

:meth:`ApprovalService.offer` posts a remediation into the diagnosis thread with Approve and
Dismiss buttons and records the pending action. :meth:`ApprovalService.handle` runs (in an RQ
job on the worker of the cluster concerned) for every click: it checks expiry and the policy,
consumes the pending action atomically (exactly one click ever executes it), optionally checks
the approver's Kubernetes identity with a SelfSubjectAccessReview, runs the remediation (dry run
first), posts progress and the result into the thread, edits the offer to show who approved,
when and the outcome, and writes every decision to the audit trail. Refusals go, ephemerally, to
the person who clicked and name the rule.

A claim whose worker died mid-execution (killed, OOM, node lost) is not left "claimed" forever:
once its deadline (the job timeout) has passed, the next click on it or :meth:`ApprovalService.sweep_stalled`
(run at the start of every click job) edits the offer to "outcome unknown", says so in the thread,
audits it as ``failed`` — and never runs the action again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from clusterdoc.approvals import blocks
from clusterdoc.approvals.audit import AuditLog
from clusterdoc.approvals.pending import PendingAction, new_id
from clusterdoc.approvals.policy import ApprovalPolicy, Decision, GroupMembers, KubernetesIdentity, decide, may_dismiss
from clusterdoc.approvals.store import CLAIM_TIMEOUT_SECONDS, PendingStore
from clusterdoc.queue import Click
from clusterdoc.report import Remediation
from clusterdoc.workers.cluster.base import ClusterError
from clusterdoc.workers.remediation import catalogue, runner
from clusterdoc.workers.remediation.base import ActionContext

log = logging.getLogger(__name__)

ContextFactory = Callable[[KubernetesIdentity | None], ActionContext]


class ApprovalService:
    """Everything a click needs: Redis, Slack, the policy, and access to the cluster."""

    def __init__(
        self,
        *,
        connection: redis.Redis,
        slack: WebClient,
        policy: ApprovalPolicy,
        members_of: GroupMembers,
        context_factory: ContextFactory,
        clock: Callable[[], float] = time.time,
        claim_timeout: float = CLAIM_TIMEOUT_SECONDS,
    ) -> None:
        self.store = PendingStore(connection)
        self.audit = AuditLog(connection)
        self.slack = slack
        self.policy = policy
        self.members_of = members_of
        self.context_factory = context_factory
        self.clock = clock
        self.claim_timeout = claim_timeout

    # -- offering ------------------------------------------------------------------------------

    def offer(
        self, remediation: Remediation, *, seen: dict[str, Any], requester: str, channel: str, thread_ts: str,
        cluster: str,
    ) -> PendingAction:
        """Record a pending action and post it with buttons into the thread."""
        now = self.clock()
        action = catalogue.get(remediation.action)
        pending = PendingAction(
            id=new_id(), action=action.name, target=remediation.target, risk=catalogue.risk_of(remediation),
            description=remediation.description or action.describe(
                remediation.target, action.parse_params(remediation.params)
            ),
            cluster=cluster, channel=channel, requester=requester, created_at=now,
            expires_at=now + self.policy.expiry_minutes * 60, params=dict(remediation.params), seen=dict(seen),
            thread_ts=thread_ts,
        )
        self.store.create(pending)
        response = self._slack(
            "chat_postMessage", channel=channel, thread_ts=thread_ts, text=blocks.fallback_text(pending),
            blocks=blocks.offer_blocks(pending, action.changes_for(action.parse_params(pending.params))),
        )
        if response is not None:
            self.store.set_message(pending.id, str(response.get("channel") or channel), str(response.get("ts")))
            pending.message_ts = str(response.get("ts"))
        self.audit.record("requested", pending, actor=requester, outcome="offered with Approve/Dismiss buttons")
        return pending

    # -- clicks --------------------------------------------------------------------------------

    def handle(self, click: Click) -> str:
        """Decide and act on one click; returns what happened (``executed``, ``refused``...)."""
        pending = self.store.get(click.pending_id)
        if pending is None:
            self._ephemeral(click.channel, click.user, "This button is no longer valid (the offer is unknown).")
            return "missing"
        try:
            if click.kind == "dismiss":
                return self._dismiss(pending, click.user)
            return self._approve(pending, click.user)
        except Exception as exc:  # never lose a click: audit it, tell the thread, keep the traceback in the log
            error_id = uuid.uuid4().hex[:8]
            log.exception("approval flow failed for %s (error id %s)", pending.id, error_id)
            outcome = f"internal error {error_id}: {type(exc).__name__}"
            self.audit.record("failed", pending, actor=click.user, outcome=outcome)
            self._thread(pending, f":x: Something went wrong handling this approval (error id `{error_id}`).")
            return "error"

    def _expired(self, pending: PendingAction, user: str, *, marked: bool) -> str:
        if marked:
            self.audit.record("expired", pending, actor=user, outcome="clicked after expiry")
            self._edit(pending, "expired", "Expired unapproved", at=pending.expires_at)
        self._ephemeral(
            pending.channel, user,
            f"This offer expired at {blocks.when(pending.expires_at)}; run the diagnosis again for a fresh one.",
        )
        return "expired"

    def _approve(self, pending: PendingAction, user: str) -> str:
        now = self.clock()
        if now >= pending.expires_at:
            closed = self.store.expire(pending.id, now).result
            if closed == "was_claimed":  # approved in time; is its worker still running it?
                return self._claimed_elsewhere(pending, user)
            if closed in ("expired_now", "was_expired", "missing"):
                return self._expired(pending, user, marked=closed == "expired_now")
            state = closed.removeprefix("was_")
            self._ephemeral(pending.channel, user, f"Nothing to do: this offer is already {state}.")
            return "taken"
        decision = decide(self.policy, pending, user, self.members_of)
        if not decision.allowed:
            self.audit.record("refused", pending, actor=user, rule=decision.rule, outcome=decision.message)
            text = f":no_entry: Not approved — {decision.message} (rule: {decision.rule})."
            self._ephemeral(pending.channel, user, text)
            return "refused"
        refusal = self._preflight(pending, self.context_factory(decision.identity), decision.identity)
        if refusal:  # the cluster's RBAC says no for this approver; the offer stays open for others
            self.audit.record("refused", pending, actor=user, rule="kubernetes RBAC", outcome=refusal)
            self._ephemeral(pending.channel, user, f":no_entry: Not approved — {refusal} (rule: kubernetes RBAC).")
            return "refused"
        transition = self.store.approve(pending.id, user, decision.needed, now, self.claim_timeout)
        result = transition.result
        if result == "expired_now":
            return self._expired(pending, user, marked=True)
        if result == "was_expired":
            return self._expired(pending, user, marked=False)
        if result == "recorded":
            missing = decision.needed - len(transition.approvers)
            self.audit.record("approved", pending, actor=user, approvers=transition.approvers, rule=decision.rule,
                              outcome=f"{len(transition.approvers)} of {decision.needed} approvals")
            self._ephemeral(pending.channel, user, f"Your approval is recorded; {missing} more distinct approver(s) "
                                                   "needed (two-person rule).")
            self._show_partial(pending, list(transition.approvers), decision.needed)
            return "recorded"
        if result == "already_approved":
            self._ephemeral(pending.channel, user, "You already approved this; another approver is needed.")
            return "duplicate"
        if result == "was_claimed":
            return self._claimed_elsewhere(pending, user)
        if result != "claimed":
            state = result.removeprefix("was_")
            who = ", ".join(f"<@{u}>" for u in transition.approvers)
            self._ephemeral(pending.channel, user, f"Nothing to do: this offer is already {state}"
                                                   + (f" (approved by {who})." if who else "."))
            return "taken"
        return self._execute(pending, user, list(transition.approvers), decision)

    def _dismiss(self, pending: PendingAction, user: str) -> str:
        if not may_dismiss(self.policy, pending, user, self.members_of):
            self.audit.record("refused", pending, actor=user, rule="dismiss: requester or approvers only",
                              outcome="dismiss refused")
            self._ephemeral(pending.channel, user, ":no_entry: Only the requester or an approver may dismiss this "
                                                   "(rule: dismiss: requester or approvers only).")
            return "refused"
        now = self.clock()
        transition = self.store.dismiss(pending.id, user, now)
        if transition.result == "was_claimed":
            return self._claimed_elsewhere(pending, user)
        if transition.result != "dismissed_now":
            self._ephemeral(pending.channel, user, f"Nothing to do: this offer is already "
                                                   f"{transition.result.removeprefix('was_')}.")
            return "taken"
        self.audit.record("dismissed", pending, actor=user, outcome="dismissed, nothing executed")
        self._edit(pending, "dismissed", "Dismissed", approvers=[user], at=now)
        return "dismissed"

    # -- claims whose worker stopped -----------------------------------------------------------

    def _claimed_elsewhere(self, pending: PendingAction, user: str) -> str:
        """A click on an offer another click claimed: still running, or its worker stopped."""
        if self._close_stalled(pending, actor=user):
            self._ephemeral(pending.channel, user, ":grey_question: The worker executing this action stopped before "
                                                   "reporting an outcome; it was not run again. Check the cluster "
                                                   "before retrying (see the thread).")
            return "stalled"
        state = self.store.state(pending.id)
        who = ", ".join(f"<@{u}>" for u in state.get("approvers", []))
        if state.get("state") == "claimed":
            self._ephemeral(pending.channel, user, f"Nothing to do: this offer is being executed (approved by {who}); "
                                                   "the result will be posted in the thread.")
        else:
            self._ephemeral(pending.channel, user, f"Nothing to do: this offer is already {state.get('state', 'gone')}"
                                                   + (f" (approved by {who})." if who else "."))
        return "taken"

    def sweep_stalled(self) -> list[str]:
        """Close every claim past its deadline (its worker stopped); returns their ids."""
        closed = []
        for pending_id in self.store.stalled(self.clock()):
            pending = self.store.get(pending_id)
            if pending is None:
                self.store.abandon(pending_id, self.clock(), "")  # only drops it from the claims set
                continue
            if self._close_stalled(pending, actor=""):
                closed.append(pending_id)
        return closed

    def _close_stalled(self, pending: PendingAction, *, actor: str) -> bool:
        """If ``pending``'s claim is past its deadline, close it as outcome unknown (once) and say so."""
        now = self.clock()
        state = self.store.state(pending.id)
        if state.get("state") != "claimed" or now < float(state.get("claim_deadline", "inf")):
            return False
        claimed_at = float(state.get("claimed_at", now))
        outcome = (
            f"outcome unknown: the worker executing it stopped at some time between {blocks.when(claimed_at)} "
            f"(claimed) and {blocks.when(float(state['claim_deadline']))} (its deadline) without reporting; "
            "check the cluster before retrying — it was not run again"
        )
        transition = self.store.abandon(pending.id, now, outcome)
        if transition.result != "abandoned_now":
            return False
        approvers = list(transition.approvers)
        self.audit.record("failed", pending, actor=actor, approvers=approvers, rule="claim deadline passed",
                          outcome=outcome)
        self._thread(pending, f":grey_question: *Outcome unknown*: `{pending.action}` on {pending.target_text()}"
                              f"\n{outcome}.")
        self._edit(pending, "unknown", "Outcome unknown", approvers=approvers, at=now, detail=outcome)
        return True

    # -- execution -----------------------------------------------------------------------------

    def _execute(self, pending: PendingAction, user: str, approvers: list[str], decision: Decision) -> str:
        """Run the claimed action; whatever happens, the claim ends with an outcome."""
        try:
            return self._run_claimed(pending, user, approvers, decision)
        except Exception as exc:
            error_id = uuid.uuid4().hex[:8]
            log.exception("executing %s failed (error id %s)", pending.id, error_id)
            outcome = (f"internal error {error_id} ({type(exc).__name__}) while executing; the outcome is unknown, "
                       "check the cluster before retrying")
            self.store.finish(pending.id, "failed", outcome)
            self.audit.record("failed", pending, actor=user, approvers=approvers, rule=decision.rule, outcome=outcome)
            self._thread(pending, f":x: *Failed*: `{pending.action}` on {pending.target_text()}\n{outcome}.")
            self._edit(pending, "failed", "Failed", approvers=approvers, at=self.clock(), detail=outcome)
            return "failed"

    def _run_claimed(self, pending: PendingAction, user: str, approvers: list[str], decision: Decision) -> str:
        started = self.clock()
        self.audit.record("approved", pending, actor=user, approvers=approvers, rule=decision.rule,
                          outcome="approved; executing")
        self._edit(pending, "approving", "Approved — running (dry run first)", approvers=approvers, at=started)
        ctx = self.context_factory(decision.identity)
        ctx.waived = decision.waived
        ctx.progress = lambda message: self._thread(pending, f":hourglass_flowing_sand: {message}")
        result = runner.execute(pending.action, pending.target, pending.params, pending.seen, ctx)
        event = {"executed": "executed", "failed": "failed"}.get(result.status, "refused")
        timings = {**result.timings, "total": round(self.clock() - started, 4)}
        self.audit.record(event, pending, actor=user, approvers=approvers, rule=result.rule or decision.rule,
                          dry_run=result.dry_run, outcome=result.outcome, timings=timings)
        self.store.finish(pending.id, result.status, result.outcome)
        headline = {
            "executed": "Executed", "failed": "Failed", "refused": "Refused before running",
            "dry_run_refused": "Refused at dry run",
        }[result.status]
        lines = [f"{blocks.STATUS_EMOJI[result.status]} *{headline}*: `{pending.action}` on {pending.target_text()}"]
        if result.dry_run:
            lines.append(f"Dry run: {result.dry_run}")
        lines.append(f"Outcome: {result.outcome}")
        if result.changes and result.status != "executed":
            lines.append("Changed before it stopped: " + "; ".join(result.changes))
        self._thread(pending, "\n".join(lines))
        self._edit(pending, result.status, headline, approvers=approvers, at=self.clock(), detail=result.outcome)
        return result.status

    def _preflight(self, pending: PendingAction, ctx: ActionContext, identity: KubernetesIdentity | None) -> str:
        """With the approver's own identity, ask the cluster whether they may do it; '' when fine.

        Runs before the claim, so an approver the cluster's RBAC refuses leaves the offer open for
        someone who may. (The shared remediation identity is not checked per click: its
        permissions are the chart's, and the dry run reports a refusal anyway.)
        """
        if identity is None or ctx.client is None:
            return ""
        for verb, resource, group, subresource, namespace in runner.required_access(
                pending.action, pending.target, pending.params):
            try:
                allowed, reason = ctx.client.can_i(
                    verb, resource, group=group, namespace=namespace, subresource=subresource,
                )
            except ClusterError as exc:
                return f"the access review for {identity.user} failed: {exc}"
            if not allowed:
                full = f"{resource}/{subresource}" if subresource else resource
                return (f"Kubernetes user {identity.user} may not {verb} {full}"
                        + (f" in namespace {namespace}" if namespace else "")
                        + (f" ({reason})" if reason else ""))
        return ""

    # -- Slack -----------------------------------------------------------------------------------

    def _slack(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.slack, method)(**kwargs)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("Slack %s failed: %s", method, exc)
            return None

    def _ephemeral(self, channel: str, user: str, text: str) -> None:
        self._slack("chat_postEphemeral", channel=channel, user=user, text=text)

    def _thread(self, pending: PendingAction, text: str) -> None:
        self._slack("chat_postMessage", channel=pending.channel, thread_ts=pending.thread_ts or None, text=text)

    def _show_partial(self, pending: PendingAction, approvers: list[str], needed: int) -> None:
        """Keep the buttons, and say who approved so far."""
        current = self.store.get(pending.id) or pending
        if not current.message_ts:
            return
        action = catalogue.get(current.action)
        offer = blocks.offer_blocks(current, action.changes_for(action.parse_params(current.params)))
        who = ", ".join(f"<@{user}>" for user in approvers)
        offer.append(blocks.context_block(f":ballot_box_with_check: Approved by {who} ({len(approvers)} of {needed})"))
        self._slack("chat_update", channel=current.channel, ts=current.message_ts,
                    text=blocks.fallback_text(current), blocks=offer)

    def _edit(
        self, pending: PendingAction, status: str, headline: str, *, at: float,
        approvers: list[str] | tuple[str, ...] = (), detail: str = "",
    ) -> None:
        current = self.store.get(pending.id) or pending
        if not current.message_ts:
            return
        self._slack(
            "chat_update", channel=current.channel, ts=current.message_ts, text=f"{headline}: {current.description}",
            blocks=blocks.decided_blocks(current, status, headline, approvers=approvers, at=at, detail=detail),
        )
