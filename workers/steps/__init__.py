"""Step kinds; importing this package registers every one of them."""

from workers.steps import describe, events, scheduling  # noqa: F401
