"""Label selectors and node selector terms as objects (``matchLabels``/``matchExpressions``), matched in memory.

Semantics follow ``k8s.io/apimachinery/pkg/labels`` and ``k8s.io/component-helpers/scheduling/corev1/nodeaffinity``:
``NotIn`` and ``DoesNotExist`` match when the key is absent; ``Gt``/``Lt`` need the key and an
integer value; node selector terms are ORed, a term's requirements ANDed, and an empty term
matches nothing; ``matchFields`` supports ``metadata.name`` only.

A node selector term the scheduler cannot parse matches no node (``nodeaffinity.newNodeSelectorTerm``
keeps the parse errors and ``match`` answers false): an invalid key or label value (``NotIn
["invalid value: ___@#$%^"]``), ``In``/``NotIn`` without values, ``Exists``/``DoesNotExist`` with
values, ``Gt``/``Lt`` without exactly one integer, or an unknown operator. The API server does not
validate node-affinity values, so such terms exist in real clusters.
"""

from __future__ import annotations

import re
from typing import Any

_LABEL_VALUE = re.compile(r"(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
NODE_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})


def valid_label_value(value: Any) -> bool:
    """``validation.IsValidLabelValue``: at most 63 characters, alphanumeric at both ends, ``-_.`` inside."""
    return isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.fullmatch(value) is not None


def valid_label_key(key: Any) -> bool:
    """``validation.IsQualifiedName``: an optional DNS-subdomain prefix and ``/``, then a name of at most 63."""
    if not isinstance(key, str) or key.count("/") > 1:
        return False
    prefix, slash, name = key.rpartition("/")
    if slash and not (prefix and len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and _LABEL_NAME.fullmatch(name) is not None


def requirement_problem(expression: dict[str, Any]) -> str | None:
    """Why ``labels.NewRequirement`` would refuse a node selector requirement, or None when it parses."""
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = expression.get("values") or []
    if operator not in NODE_OPERATORS:
        return f"unknown operator {operator!r}"
    if not valid_label_key(key):
        return f"invalid label key {key!r}"
    if operator in ("In", "NotIn") and not values:
        return f"{operator} needs at least one value"
    if operator in ("Exists", "DoesNotExist") and values:
        return f"{operator} takes no values"
    if operator in ("Gt", "Lt"):
        if len(values) != 1:
            return f"{operator} needs exactly one value"
        if _int64(values[0]) is None:
            return f"{operator} value {values[0]!r} is not an integer"
    for value in values:
        if not valid_label_value(value):
            return f"invalid label value {value!r}"
    return None


_DECIMAL = re.compile(r"[+-]?[0-9]+")


def _int64(value: Any) -> int | None:
    """``strconv.ParseInt(v, 10, 64)``: optional sign and ASCII digits only (no ``_``, spaces, ``1e3``), 64 bits."""
    text = str(value)
    if not _DECIMAL.fullmatch(text):
        return None
    number = int(text)
    return number if -(2 ** 63) <= number < 2 ** 63 else None


def term_problem(term: dict[str, Any]) -> str | None:
    """Why the scheduler cannot parse a ``NodeSelectorTerm`` (so it matches no node), or None."""
    for expression in term.get("matchExpressions") or ():
        problem = requirement_problem(expression)
        if problem:
            return f"{expression.get('key', '')}: {problem}"
    for requirement in term.get("matchFields") or ():
        if requirement.get("key") != "metadata.name":
            return f"unsupported field {requirement.get('key')!r}"
        if requirement.get("operator") not in ("In", "NotIn") or len(requirement.get("values") or []) != 1:
            return "metadata.name needs In or NotIn with exactly one value"
    return None


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
        have, want = _int64(value), _int64(values[0])
        if have is None or want is None:
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
    if term_problem(term) is not None:
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
