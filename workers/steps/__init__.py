"""Step kinds; importing this package registers every one of them."""

from clusterdoc.workers.steps import crashloop, describe, events, node, rollout, scheduling  # noqa: F401
