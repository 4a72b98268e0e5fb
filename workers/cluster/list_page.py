"""One LIST page read item by item: decode an item, hand it over, forget it, decode the next.

``json.loads`` of a 500-pod page builds the whole page (megabytes of dicts) before anyone looks at
the first pod; by the time the reader gets to it, the page has left the CPU caches, and the next
page is decoded while the previous one is still alive. Decoding the ``items`` array one element at
a time with the standard library's C scanner (``json.scanner.make_scanner``, the same code
``json.loads`` runs) keeps one pod in memory at a time and hands it over while it is still hot:
same objects, same errors for malformed JSON, less time and a fraction of the memory.

:func:`read_page` accepts any key order and whitespace; everything but ``items`` is decoded
whole, so the ``metadata.continue`` token is there once the items are done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator
from json.scanner import make_scanner
from typing import Any

_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_SPACE = re.compile(r"[ \t\n\r]*")
_WHITESPACE = frozenset(" \t\n\r")


class ListPage:
    """The parts of a LIST answer other than its items, filled in while the items are read."""

    __slots__ = ("metadata",)

    def __init__(self) -> None:
        self.metadata: dict[str, Any] = {}

    @property
    def continue_token(self) -> str:
        """``metadata.continue`` ("" when this was the last page); complete once the items are read."""
        token = self.metadata.get("continue")
        return token if isinstance(token, str) else ""


def read_page(body: bytes | str, page: ListPage, kind: str | None = None) -> Generator[Any, None, None]:
    """Yield the elements of ``body``'s ``items`` array one by one; ``page.metadata`` is set on the way.

    With ``kind``, an object item without a ``kind`` gets it (the API server leaves it out of list items).

    Raises :class:`json.JSONDecodeError` (a ``ValueError``) for anything that is not a JSON object
    (or whose ``items`` is neither an array nor null), with the position of the first problem, as
    ``json.loads`` would. Items already yielded stay yielded: a caller that must not act on a
    truncated page collects first.
    """
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    index = _skip(text, 0)
    if text[index:index + 1] != "{":
        raise json.JSONDecodeError("a LIST answer must be a JSON object", text, index)
    index = _skip(text, index + 1)
    if text[index:index + 1] == "}":
        _expect_end(text, index + 1)
        return
    while True:
        if text[index:index + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, index)
        key, index = _scan(text, index)
        index = _skip(text, index)
        if text[index:index + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
        index = _skip(text, index + 1)
        if key == "items" and text[index:index + 1] == "[":
            index = yield from _items(text, index + 1, kind)
        else:
            value, index = _scan(text, index)
            if key == "metadata" and isinstance(value, dict):
                page.metadata = value
            elif key == "items" and value is not None:
                raise json.JSONDecodeError(f"items must be an array, not {type(value).__name__}", text, index)
        index = _skip(text, index)
        separator = text[index:index + 1]
        if separator == "}":
            _expect_end(text, index + 1)
            return
        if separator != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _skip(text, index + 1)


def _items(text: str, index: int, kind: str | None) -> Generator[Any, None, int]:
    """Yield the array elements from ``index`` (just after ``[``); return the index after ``]``.

    The API server writes compact JSON, so whitespace is looked for only where a character says so.
    """
    index = _skip(text, index)
    if text[index:index + 1] == "]":
        return index + 1
    scan, whitespace = _SCAN, _WHITESPACE
    while True:
        try:
            item, index = scan(text, index)
        except StopIteration as stop:
            raise json.JSONDecodeError("Expecting value", text, stop.value) from None
        if kind is not None and item.__class__ is dict and "kind" not in item:
            item["kind"] = kind
        yield item
        del item  # the consumer holds the only reference now: it goes when they are done with it
        separator = text[index:index + 1]
        if separator in whitespace:
            index = _skip(text, index)
            separator = text[index:index + 1]
        if separator == ",":
            index += 1
            if text[index:index + 1] in whitespace:
                index = _skip(text, index)
        elif separator == "]":
            return index + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)


def _skip(text: str, index: int) -> int:
    """The index of the first character at or after ``index`` that is not JSON whitespace."""
    match = _SPACE.match(text, index)
    return match.end() if match else index


def _scan(text: str, index: int) -> tuple[Any, int]:
    try:
        return _SCAN(text, index)
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", text, stop.value) from None


def _expect_end(text: str, index: int) -> None:
    if _skip(text, index) != len(text):
        raise json.JSONDecodeError("Extra data", text, index)
