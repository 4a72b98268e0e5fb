"""A small evaluator for the CEL device selectors DRA users write most, and a clear refusal for the rest.

DeviceClasses and ResourceClaim requests select devices with CEL expressions over ``device``
(``k8s.io/dynamic-resource-allocation/cel``): ``device.driver``, ``device.attributes[<domain>].<name>``
(a slice's attribute ``<domain>/<name>``, or ``<name>`` when ``<domain>`` is the device's driver),
``device.capacity[<domain>].<name>`` (a quantity). This module evaluates the common forms:
literals (strings, integers, booleans), ``==``/``!=``/``<``/``<=``/``>``/``>=``, ``&&``/``||``/``!``,
parentheses, ``"<name>" in device.attributes[<domain>]``, the string methods ``startsWith``,
``endsWith``, ``contains`` and ``matches``, and quantities: ``quantity("40Gi")``, ``compareTo``,
``isGreaterThan``, ``isLessThan``. Anything else raises :class:`Unsupported`, so the caller can say
the selector is beyond what clusterdoc evaluates instead of guessing. A missing attribute raises
:class:`RuntimeFailure` (the scheduler's CEL runtime error: ``no such key``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clusterdoc.workers.scheduling.quantities import QuantityError, to_int


class Unsupported(Exception):
    """The expression uses CEL that clusterdoc does not evaluate."""


class RuntimeFailure(Exception):
    """The expression fails at run time on this device (e.g. ``no such key``)."""


@dataclass(frozen=True)
class Quantity:
    value: int


@dataclass(frozen=True)
class Device:
    """What a selector sees of one device: its driver, attributes and capacity, as published in a ResourceSlice."""

    driver: str
    attributes: dict[str, Any]
    capacity: dict[str, Any]


_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<num>\d+)
                     |(?P<op>==|!=|<=|>=|&&|\|\||[<>!().\[\],])|(?P<id>[A-Za-z_][A-Za-z0-9_]*))""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"cannot read {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _attribute_value(raw: Any) -> Any:
    if isinstance(raw, dict):
        for key in ("string", "int", "bool"):
            if key in raw:
                return raw[key]
        if "version" in raw:
            raise Unsupported("version attributes (semver) are not evaluated")
    return raw


def _quantity(raw: Any) -> Quantity:
    value = raw.get("value") if isinstance(raw, dict) else raw
    try:
        return Quantity(to_int("storage", str(value)))
    except (QuantityError, TypeError) as exc:
        raise RuntimeFailure(f"invalid quantity {value!r}") from exc


class _Domain:
    """``device.attributes[<domain>]`` or ``device.capacity[<domain>]``."""

    def __init__(self, device: Device, domain: str, capacity: bool) -> None:
        self.device, self.domain, self.capacity = device, domain, capacity

    def names(self) -> dict[str, Any]:
        source = self.device.capacity if self.capacity else self.device.attributes
        found = {}
        for key, value in source.items():
            prefix, slash, name = key.rpartition("/")
            if (slash and prefix == self.domain) or (not slash and self.domain == self.device.driver):
                found[name] = value
        return found

    def get(self, name: str) -> Any:
        names = self.names()
        if name not in names:
            kind = "capacity" if self.capacity else "attributes"
            raise RuntimeFailure(f"no such key: {name} in device.{kind}[{self.domain!r}]")
        return _quantity(names[name]) if self.capacity else _attribute_value(names[name])


class _Parser:
    def __init__(self, text: str, device: Device) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.device = device

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise Unsupported("unexpected end of expression")
        token = self.tokens[self.pos]
        if want is not None and token[1] != want:
            raise Unsupported(f"expected {want!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise Unsupported(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self._absorbing(self.and_, value is True)
            value = value is True or bool(right)
        return value

    def and_(self) -> Any:
        value = self.unary()
        while self.peek() == "&&":
            self.take()
            right = self._absorbing(self.unary, value is False)
            value = value is not False and bool(right)
        return value

    def _absorbing(self, operand: Any, decided: bool) -> Any:
        """CEL's ``&&``/``||`` absorb an error on one side when the other side decides the result."""
        if not decided:
            return operand()
        try:
            return operand()
        except RuntimeFailure:
            self._skip_operand()
            return None

    def _skip_operand(self) -> None:
        depth = 0
        while self.pos < len(self.tokens):
            token = self.peek()
            if depth == 0 and token in ("&&", "||", ")", "]", ","):
                return
            depth += token in ("(", "[")
            depth -= token in (")", "]")
            self.pos += 1

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not self.unary()
        return self.comparison()

    def comparison(self) -> Any:
        left = self.postfix()
        op = self.peek()
        if op in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.postfix()
            return _compare(op, left, right)
        if op == "in":
            self.take()
            right = self.postfix()
            if not isinstance(right, _Domain):
                raise Unsupported("'in' is evaluated only against device.attributes[...] or device.capacity[...]")
            return left in right.names()
        return left

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == "[":
                key = self.or_()
                self.take("]")
                value = self._index(value, key)
                continue
            kind, name = self.take()
            if kind != "id":
                raise Unsupported(f"unexpected {name!r} after '.'")
            if self.peek() == "(":
                self.take()
                args = []
                while self.peek() != ")":
                    args.append(self.or_())
                    if self.peek() == ",":
                        self.take()
                self.take(")")
                value = _method(value, name, args)
            else:
                value = self._member(value, name)
        return value

    def _member(self, value: Any, name: str) -> Any:
        if value is self.device:
            if name == "driver":
                return self.device.driver
            if name in ("attributes", "capacity"):
                return (name, self.device)
            raise Unsupported(f"device.{name} is not evaluated")
        if isinstance(value, _Domain):
            return value.get(name)
        raise Unsupported(f"field .{name} is not evaluated")

    def _index(self, value: Any, key: Any) -> Any:
        if isinstance(value, tuple) and len(value) == 2 and value[1] is self.device and isinstance(key, str):
            return _Domain(self.device, key, value[0] == "capacity")
        if isinstance(value, _Domain) and isinstance(key, str):
            return value.get(key)
        raise Unsupported("indexing is evaluated only on device.attributes and device.capacity")

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "num":
            return int(text)
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "id":
            if text in ("true", "false"):
                return text == "true"
            if text == "device":
                return self.device
            if text == "quantity" and self.peek() == "(":
                self.take()
                _, literal = self.take()
                self.take(")")
                return _quantity(literal.strip("\"'"))
            raise Unsupported(f"{text!r} is not evaluated")
        raise Unsupported(f"unexpected {text!r}")


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, Quantity) or isinstance(right, Quantity):
        raise Unsupported("quantities are compared with compareTo/isGreaterThan/isLessThan")
    if isinstance(left, bool) != isinstance(right, bool) or (
            isinstance(left, str) != isinstance(right, str)):
        if op in ("==", "!="):
            return op == "!="  # CEL: values of different types are not equal
        raise RuntimeFailure(f"no such overload: {type(left).__name__} {op} {type(right).__name__}")
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
    except TypeError as exc:
        raise RuntimeFailure(str(exc)) from exc


def _method(value: Any, name: str, args: list[Any]) -> Any:
    if isinstance(value, str) and len(args) == 1 and isinstance(args[0], str):
        if name == "startsWith":
            return value.startswith(args[0])
        if name == "endsWith":
            return value.endswith(args[0])
        if name == "contains":
            return args[0] in value
        if name == "matches":
            return re.search(args[0], value) is not None
    if isinstance(value, Quantity) and len(args) == 1 and isinstance(args[0], Quantity):
        if name == "compareTo":
            return (value.value > args[0].value) - (value.value < args[0].value)
        if name == "isGreaterThan":
            return value.value > args[0].value
        if name == "isLessThan":
            return value.value < args[0].value
    raise Unsupported(f"method {name}() is not evaluated here")


def evaluate(expression: str, device: Device) -> bool:
    """Whether ``device`` satisfies ``expression``; :class:`Unsupported` or :class:`RuntimeFailure` otherwise."""
    result = _Parser(expression, device).parse()
    if not isinstance(result, bool):
        raise RuntimeFailure(f"the expression evaluates to {type(result).__name__}, not a bool")
    return result


def drivers_named(expression: str) -> set[str]:
    """Drivers an expression pins with ``device.driver == "x"`` (to tell "no slices from that driver")."""
    return set(re.findall(r"""device\.driver\s*==\s*["']([^"']+)["']""", expression))
