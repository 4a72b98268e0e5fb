"""Label selectors and node selector terms as objects (``matchLabels``/``matchExpressions``), matched in memory.

Semantics follow ``k8s.io/apimachinery/pkg/labels`` and ``k8s.io/component-helpers/scheduling/corev1/nodeaffinity``:
``NotIn`` and ``DoesNotExist`` match when the key is absent; ``Gt``/``Lt`` need the key and an
integer value; node selector terms are ORed, a term's requirements ANDed, and an empty term
matches nothing; ``matchFields`` supports ``metadata.name`` only.
"""

from __future__ import annotations

from typing import Any


def _requirement(labels: dict[str, str], expression: dict[str, Any]) -> bool:
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = expression.get("values") or []
    present = key in labels
    value = labels.get(key)
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        try:
            have, want = int(str(value)), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A ``LabelSelector`` object; ``None`` matches nothing, ``{}`` matches everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_requirement(labels, expression) for expression in selector.get("matchExpressions") or ())


def selector_text(selector: dict[str, Any] | None) -> str:
    """A selector written the way kubectl accepts it (``app=web,tier in (a,b)``)."""
    if not selector:
        return "<everything>" if selector == {} else "<nothing>"
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {operator.lower() if operator else operator} ({','.join(map(str, values))})")
    return ",".join(parts)


def node_term_matches(term: dict[str, Any], node_name: str, labels: dict[str, str]) -> bool:
    """One ``NodeSelectorTerm``: every expression and field requirement holds; empty terms match nothing."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    if not all(_requirement(labels, expression) for expression in expressions):
        return False
    for requirement in fields:
        if requirement.get("key") != "metadata.name":
            return False
        if not _requirement({"metadata.name": node_name}, requirement):
            return False
    return True


def term_text(term: dict[str, Any]) -> str:
    """A node selector term as one readable line."""
    parts = []
    for expression in term.get("matchExpressions") or ():
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("Exists", "DoesNotExist"):
            parts.append(f"{key} {operator}")
        else:
            parts.append(f"{key} {operator} {','.join(map(str, values))}")
    for requirement in term.get("matchFields") or ():
        parts.append(f"{requirement.get('key')} {requirement.get('operator')} "
                     f"{','.join(map(str, requirement.get('values') or []))}")
    return " and ".join(parts) or "<empty term>"
