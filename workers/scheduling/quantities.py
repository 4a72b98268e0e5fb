"""Kubernetes resource quantities (``500m``, ``1.5Gi``, ``2e3``) as integers, and back to text.

The scheduler compares CPU in millicores and everything else in whole units, rounding up
(``Quantity.MilliValue``/``Value``). Parsing is cached: a 150,000-pod cluster repeats the same
few dozen request strings, so each is parsed once.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


@lru_cache(maxsize=4096)
def parse(text: str | int | float) -> Decimal:
    """The exact value of a quantity; raises :class:`QuantityError` naming the bad text."""
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        value = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise QuantityError(f"not a Kubernetes quantity: {text!r}") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    return value * (Decimal(10) ** int(suffix[1:]))


@lru_cache(maxsize=4096)
def to_int(resource: str, text: str | int | float) -> int:
    """The integer the scheduler compares: millicores for ``cpu``, whole units otherwise (rounded up)."""
    value = parse(text)
    if resource == "cpu":
        value *= 1000
    return math.ceil(value)


def safe_int(resource: str, text: object) -> int:
    """Like :func:`to_int`, but 0 for a malformed value (the API server would have refused it)."""
    try:
        return to_int(resource, text)
    except (QuantityError, TypeError):
        return 0


def format_cpu(millis: int) -> str:
    """CPU in kubectl's canonical form: ``2`` for whole cores, else millicores (``500m``, ``1500m``)."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(value: int) -> str:
    """``1610612736`` -> ``1.5Gi``: the largest binary unit that keeps one decimal readable."""
    for suffix, size in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if abs(value) >= size:
            amount = value / size
            text = f"{amount:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(value)


def format_amount(resource: str, value: int) -> str:
    """A resource amount in the unit people use for it."""
    if resource == "cpu":
        return format_cpu(value)
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        return format_bytes(value)
    return str(value)


def to_quantity_text(resource: str, value: int) -> str:
    """An amount written as a quantity a manifest accepts (``1500m``, ``2Gi``, ``3``)."""
    if resource == "cpu":
        return str(value // 1000) if value % 1000 == 0 else f"{value}m"
    if resource in ("memory", "ephemeral-storage"):
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if value % size == 0 and value >= size:
                return f"{value // size}{suffix}"
        return f"{math.ceil(value / 2**20)}Mi"
    return str(value)
