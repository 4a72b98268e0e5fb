"""Pending actions in a real Redis: creation, atomic approval under concurrency, dismissal, expiry."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import redis

from clusterdoc.approvals.pending import PendingAction, new_id
from clusterdoc.approvals.store import CLAIM_MARGIN_SECONDS, PendingStore
from clusterdoc.report import Target

NOW = 1_800_000_000.0


def make_pending(**overrides: object) -> PendingAction:
    values: dict[str, object] = {
        "id": new_id(), "action": "delete_pod", "target": Target("Pod", "web-0", "shop"), "risk": "medium",
        "description": "Delete pod shop/web-0", "cluster": "prod", "channel": "C1", "requester": "U1",
        "created_at": NOW, "expires_at": NOW + 900, "seen": {"uid": "u-1"}, "thread_ts": "1.0",
    }
    values.update(overrides)
    return PendingAction(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(redis_url: str) -> PendingStore:
    return PendingStore(redis.Redis.from_url(redis_url))


def test_button_value_is_opaque_and_record_round_trips(store: PendingStore) -> None:
    pending = make_pending(params={"replicas": 3})
    store.create(pending)
    assert len(pending.id) >= 20 and "web" not in pending.id
    assert store.get(pending.id) == pending
    assert store.get("unknown-id") is None
    assert store.redis.ttl(store.key(pending.id)) > 900


def test_twenty_concurrent_approvals_claim_exactly_once(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def click(user: str) -> None:
        barrier.wait()
        results.append(store.approve(pending.id, user, 1, NOW + 1).result)

    threads = [threading.Thread(target=click, args=(f"U{i % 3}",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(results)
    assert counts["claimed"] == 1
    assert counts["was_claimed"] == 19
    assert store.state(pending.id)["state"] == "claimed"


def test_two_distinct_approvers_needed(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    first = store.approve(pending.id, "U2", 2, NOW)
    assert (first.result, first.approvers) == ("recorded", ("U2",))
    assert store.approve(pending.id, "U2", 2, NOW).result == "already_approved"
    second = store.approve(pending.id, "U3", 2, NOW)
    assert (second.result, second.approvers) == ("claimed", ("U2", "U3"))
    assert store.approve(pending.id, "U4", 2, NOW).result == "was_claimed"


def test_expiry_is_decided_by_redis_once(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    assert store.approve(pending.id, "U2", 1, pending.expires_at).result == "expired_now"
    assert store.approve(pending.id, "U3", 1, pending.expires_at + 5).result == "was_expired"
    assert store.state(pending.id)["state"] == "expired"


def test_dismiss_then_approve_does_nothing(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    assert store.dismiss(pending.id, "U1", NOW).result == "dismissed_now"
    assert store.dismiss(pending.id, "U1", NOW).result == "was_dismissed"
    assert store.approve(pending.id, "U2", 1, NOW).result == "was_dismissed"


def test_unknown_id_is_missing(store: PendingStore) -> None:
    assert store.approve("nope", "U2", 1, NOW).result == "missing"
    assert store.dismiss("nope", "U2", NOW).result == "missing"


def test_finish_records_outcome(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    store.approve(pending.id, "U2", 1, NOW)
    store.finish(pending.id, "executed", "pod deleted")
    state = store.state(pending.id)
    assert (state["state"], state["status"], state["outcome"], state["approvers"]) == (
        "done", "executed", "pod deleted", ["U2"]
    )


def test_claim_carries_a_deadline_and_a_stalled_claim_is_abandoned_once(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    assert store.approve(pending.id, "U2", 1, NOW, claim_timeout=600).result == "claimed"
    deadline = float(store.state(pending.id)["claim_deadline"])
    assert deadline == NOW + 600 + CLAIM_MARGIN_SECONDS
    assert store.stalled(deadline - 1) == []
    assert store.abandon(pending.id, deadline - 1, "unknown").result == "running"
    assert store.stalled(deadline) == [pending.id]
    results = [store.abandon(pending.id, deadline, "outcome unknown").result for _ in range(3)]
    assert results == ["abandoned_now", "was_done", "was_done"]
    state = store.state(pending.id)
    assert (state["state"], state["status"], state["outcome"]) == ("done", "unknown", "outcome unknown")
    assert store.stalled(deadline + 10_000) == []
    assert store.approve(pending.id, "U3", 1, deadline).result == "was_done"  # never claimed again


def test_finished_claim_is_not_stalled(store: PendingStore) -> None:
    pending = make_pending()
    store.create(pending)
    store.approve(pending.id, "U2", 1, NOW, claim_timeout=60)
    store.finish(pending.id, "executed", "pod deleted")
    assert store.stalled(NOW + 10_000) == []
    assert store.abandon(pending.id, NOW + 10_000, "unknown").result == "was_done"
    assert store.state(pending.id)["status"] == "executed"
