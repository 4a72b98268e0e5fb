"""Label and field selectors as the API server understands them, for in-memory matching.

The snapshot backend filters with these, so ``--snapshot`` answers the same LIST the live API
server would. Supported: label selectors with ``=``, ``==``, ``!=``, ``in``, ``notin``,
existence and ``!key``; field selectors with ``=``, ``==``, ``!=`` on dotted paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    """A selector string that does not parse; the message names the bad term."""


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


LabelCheck = Callable[[dict[str, str]], bool]


def _in_set(key: str, values: set[str]) -> LabelCheck:
    return lambda labels: labels.get(key) in values


def _not_in_set(key: str, values: set[str]) -> LabelCheck:
    return lambda labels: labels.get(key) not in values


def _equal(key: str, value: str) -> LabelCheck:
    return lambda labels: labels.get(key) == value


def _not_equal(key: str, value: str) -> LabelCheck:
    return lambda labels: labels.get(key) != value


def _present(key: str) -> LabelCheck:
    return lambda labels: key in labels


def _absent(key: str) -> LabelCheck:
    return lambda labels: key not in labels


def label_matcher(selector: str | None) -> Matcher:
    """A predicate over objects for a label selector (everything matches when empty)."""
    if not selector:
        return lambda obj: True
    checks: list[LabelCheck] = []
    for term in _split_terms(selector):
        set_match = _SET_TERM.match(term)
        if set_match:
            key, op, raw_values = set_match.groups()
            values = {v.strip() for v in raw_values.split(",") if v.strip()}
            checks.append(_in_set(key, values) if op == "in" else _not_in_set(key, values))
        elif "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            checks.append(_not_equal(key, value))
        elif "=" in term:
            key, value = (part.strip() for part in term.replace("==", "=").split("=", 1))
            checks.append(_equal(key, value))
        elif term.startswith("!"):
            checks.append(_absent(term[1:].strip()))
        elif re.fullmatch(r"[A-Za-z0-9._/-]+", term):
            checks.append(_present(term))
        else:
            raise SelectorError(f"cannot parse label selector term {term!r}")

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return match


# Field labels that name something other than their dotted path (Event's ``source``), and the
# values the API server reports for fields left unset (kubernetes pkg/registry/*/strategy.go).
_FIELD_ALIASES = {"source": "source.component"}
_FIELD_DEFAULTS = {
    "spec.unschedulable": "false",
    "spec.hostNetwork": "false",
    "status.replicas": "0",
    "status.successful": "0",
}


def field_value(obj: dict[str, Any], path: str) -> str:
    """The value at a dotted path (``spec.nodeName``) as the API server renders it for field
    selectors: booleans as ``true``/``false``, unset fields as their default or the empty string."""
    current: Any = obj
    for part in _FIELD_ALIASES.get(path, path).split("."):
        if not isinstance(current, dict):
            current = None
            break
        current = current.get(part)
    if current is None:
        return _FIELD_DEFAULTS.get(path, "")
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def field_matcher(selector: str | None) -> Matcher:
    """A predicate over objects for a field selector (everything matches when empty)."""
    if not selector:
        return lambda obj: True
    checks: list[tuple[str, str, bool]] = []
    for term in _split_terms(selector):
        if "!=" in term:
            path, value = term.split("!=", 1)
            checks.append((path.strip(), value.strip(), False))
        elif "=" in term:
            path, value = term.replace("==", "=").split("=", 1)
            checks.append((path.strip(), value.strip(), True))
        else:
            raise SelectorError(f"cannot parse field selector term {term!r}")

    def match(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, path) == value) == equal for path, value, equal in checks)

    return match
