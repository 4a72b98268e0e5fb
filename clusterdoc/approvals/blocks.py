"""Block Kit for approvals: the offer with Approve/Dismiss buttons, and the decided message.

Each offered remediation is its own message in the thread, so it can be edited on its own once
decided: buttons removed, who approved and when, and the outcome. Button values carry only the
pending action's opaque id. High-risk actions get a confirmation dialog on Approve.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from clusterdoc.approvals.pending import PendingAction
from clusterdoc.render.text import escape_mrkdwn, one_line

APPROVE_ACTION_ID = "clusterdoc_approve"
DISMISS_ACTION_ID = "clusterdoc_dismiss"
RISK_EMOJI = {"low": ":large_green_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:"}
STATUS_EMOJI = {
    "executed": ":white_check_mark:", "failed": ":x:", "refused": ":no_entry:", "dry_run_refused": ":no_entry:",
    "dismissed": ":wastebasket:", "expired": ":hourglass:", "approving": ":hourglass_flowing_sand:",
    "unknown": ":grey_question:",
}


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _describe(pending: PendingAction, changes: str) -> str:
    risk = pending.risk
    lines = [
        f"*Proposed fix:* {escape_mrkdwn(one_line(pending.description))}",
        f"{RISK_EMOJI.get(risk, '')} *{risk} risk* · `{pending.action}` · {escape_mrkdwn(pending.target_text())} "
        f"· cluster `{escape_mrkdwn(pending.cluster)}`",
    ]
    if changes:
        lines.append(f"_What changes:_ {escape_mrkdwn(changes)}")
    return "\n".join(lines)


def offer_blocks(pending: PendingAction, changes: str = "") -> list[dict[str, Any]]:
    """The offer: description, risk, who asked, expiry, and the two buttons."""
    approve = ButtonElement(
        text="Approve", action_id=APPROVE_ACTION_ID, value=pending.id, style="primary",
        confirm=ConfirmObject(
            title="Run this fix?",
            text=f"{one_line(pending.description)[:250]} Risk: {pending.risk}. This changes the cluster.",
            confirm="Run it", deny="Cancel",
        ) if pending.risk == "high" else None,
    )
    dismiss = ButtonElement(text="Dismiss", action_id=DISMISS_ACTION_ID, value=pending.id)
    context = (
        f"Offered to <@{pending.requester}>'s request · a dry run runs first · expires {when(pending.expires_at)}"
    )
    return [
        SectionBlock(text=MarkdownTextObject(text=_describe(pending, changes))).to_dict(),
        ActionsBlock(block_id=f"approval:{pending.id}", elements=[approve, dismiss]).to_dict(),
        ContextBlock(elements=[MarkdownTextObject(text=context)]).to_dict(),
    ]


def decided_blocks(
    pending: PendingAction, status: str, headline: str, *, approvers: list[str] | tuple[str, ...] = (),
    at: float, detail: str = "",
) -> list[dict[str, Any]]:
    """The offer after a decision: no buttons; who, when, the outcome."""
    who = ", ".join(f"<@{user}>" for user in approvers)
    lines = [f"{STATUS_EMOJI.get(status, '')} *{escape_mrkdwn(headline)}*" + (f" by {who}" if who else "")
             + f" at {when(at)}"]
    if detail:
        lines.append(escape_mrkdwn(detail[:2500]))
    return [
        SectionBlock(text=MarkdownTextObject(text=_describe(pending, ""))).to_dict(),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))).to_dict(),
    ]


def context_block(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()


def fallback_text(pending: PendingAction) -> str:
    return one_line(f"Proposed fix ({pending.risk} risk): {pending.description}")[:300]
