"""How times, durations and free text are written for people, in every renderer and step.

One of each: :func:`parse_time` reads an API timestamp, :func:`human_duration` writes a duration
the way kubectl prints ages, :func:`one_line` folds free text onto one line. Quantities (CPU,
bytes) are written by :mod:`clusterdoc.workers.scheduling.quantities`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the API (``2024-11-05T14:32:10Z``, with or without micros)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(delta: timedelta) -> str:
    """A duration the way kubectl prints ages: ``45s``, ``3m20s``, ``17m``, ``5h12m``, ``3d4h``, ``120d``."""
    seconds = max(int(delta.total_seconds()), 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    if days < 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d"


def one_line(text: str, limit: int | None = 300) -> str:
    """``text`` on one line, cut at ``limit`` characters (None: never) with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"
