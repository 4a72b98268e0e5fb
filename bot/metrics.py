"""A few process counters for ``/metrics`` in Prometheus' text format (no client library needed).

The bot counts what happened to each slash command and how often Slack or Redis failed it;
that is enough to alert on "commands are being rejected" or "the queue is unreachable".
"""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    """Thread-safe labelled counters, rendered in the Prometheus exposition format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[tuple[str, str]] = Counter()
        self._help: dict[str, str] = {}

    def describe(self, name: str, help_text: str) -> None:
        self._help[name] = help_text

    def inc(self, name: str, outcome: str = "") -> None:
        with self._lock:
            self._values[(name, outcome)] += 1

    def value(self, name: str, outcome: str = "") -> int:
        with self._lock:
            return self._values[(name, outcome)]

    def render(self, gauges: dict[str, float] | None = None) -> str:
        with self._lock:
            values = dict(self._values)
        lines: list[str] = []
        for name in sorted({key[0] for key in values} | set(self._help)):
            lines.append(f"# HELP {name} {self._help.get(name, name)}")
            lines.append(f"# TYPE {name} counter")
            for (metric, outcome), count in sorted(values.items()):
                if metric == name:
                    label = f'{{outcome="{outcome}"}}' if outcome else ""
                    lines.append(f"{name}{label} {count}")
        for name, value in sorted((gauges or {}).items()):
            lines.append(f"# TYPE {name} {'counter' if name.endswith('_total') else 'gauge'}")
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


COMMANDS = "clusterdoc_slash_commands_total"
