"""The LIST page reader decodes exactly what ``json.loads`` decodes, one item at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterdoc.workers.cluster.list_page import ListPage, read_page

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
LAYOUTS = st.sampled_from([
    {"separators": (",", ":")},
    {"separators": (", ", ": ")},
    {"indent": 2},
    {"indent": "\t"},
    {"ensure_ascii": False},
])


def read_all(body: bytes | str) -> tuple[list[Any], ListPage]:
    page = ListPage()
    return list(read_page(body, page)), page


@settings(max_examples=300, deadline=None)
@given(items=st.lists(JSON_VALUES, max_size=6), extra=st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3),
       token=st.text(max_size=12), metadata_last=st.booleans(), layout=LAYOUTS)
def test_items_and_continue_token_match_json_loads(items: list[Any], extra: dict[str, Any], token: str,
                                                   metadata_last: bool, layout: dict[str, Any]) -> None:
    extra = {k: v for k, v in extra.items() if k not in ("items", "metadata")}
    body: dict[str, Any] = {"kind": "PodList", **extra}
    if not metadata_last:
        body["metadata"] = {"resourceVersion": "7", "continue": token}
    body["items"] = items
    if metadata_last:  # the API server writes metadata first; any order must work
        body["metadata"] = {"resourceVersion": "7", "continue": token}
    text = json.dumps(body, **layout)
    decoded, page = read_all(text.encode("utf-8"))
    assert decoded == json.loads(text)["items"]
    assert page.continue_token == token


def test_an_empty_or_null_item_list_and_no_metadata() -> None:
    assert read_all(b'{"items": []}')[0] == []
    assert read_all(b' {"kind":"PodList","items":null} \n')[0] == []
    decoded, page = read_all(b"{}")
    assert decoded == [] and page.continue_token == ""


def test_items_are_handed_over_one_at_a_time() -> None:
    """The second item is not decoded before the caller is done with the first."""
    reader = read_page(b'{"items":[{"a":1},{"b":2} , {"c":3}]}', ListPage())
    assert next(reader) == {"a": 1}
    assert next(reader) == {"b": 2}
    assert list(reader) == [{"c": 3}]


@pytest.mark.parametrize(("body", "problem"), [
    (b"", "must be a JSON object"),
    (b"<html>502 Bad Gateway</html>", "must be a JSON object"),
    (b'{"items":[{"a":1},{"b":', "Expecting value"),
    (b'{"items":[{"a":1} {"b":2}]}', "Expecting ','"),
    (b'{"items":[{"a":1}]', "Expecting ','"),
    (b'{"items":[]} trailing', "Extra data"),
    (b'{items:[]}', "Expecting property name"),
    (b'{"items" []}', "Expecting ':'"),
])
def test_malformed_pages_raise_like_json_loads(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        read_all(body)
    with pytest.raises(ValueError):
        json.loads(body)  # the same bodies json.loads refuses: the reader is no more lenient


@pytest.mark.parametrize(("body", "problem"), [
    (b'[{"a":1}]', "must be a JSON object"),
    (b'{"items":{"a":1}}', "items must be an array, not dict"),
    (b'{"items":"none"}', "items must be an array, not str"),
])
def test_json_that_is_not_a_list_answer_is_refused(body: bytes, problem: str) -> None:
    json.loads(body)  # valid JSON, just not a LIST answer
    with pytest.raises(ValueError, match=problem):
        read_all(body)


def test_kind_is_added_to_object_items_that_lack_it() -> None:
    page = ListPage()
    items = list(read_page(b'{"items":[{"a":1},{"kind":"Event"},2,null]}', page, "Pod"))
    assert items == [{"a": 1, "kind": "Pod"}, {"kind": "Event"}, 2, None]
