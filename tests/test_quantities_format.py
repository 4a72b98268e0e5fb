"""One way to write CPU and bytes, whichever step or renderer writes them (kubectl's canonical CPU)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clusterdoc.workers.scheduling import quantities
from clusterdoc.workers.steps.common import format_quantity


@pytest.mark.parametrize(
    ("resource", "text", "written"),
    [
        ("cpu", "1.5", "1500m"),
        ("cpu", "1500m", "1500m"),
        ("cpu", "2", "2"),
        ("cpu", "250m", "250m"),
        ("memory", str(2**60), "1Ei"),
        ("memory", "1536Mi", "1.5Gi"),
        ("memory", "128974848", "123Mi"),
        ("ephemeral-storage", "10Gi", "10Gi"),
    ],
    ids=["cpu-fraction", "cpu-millis", "cpu-whole", "cpu-small", "bytes-exa", "bytes-fraction", "bytes-plain",
         "ephemeral"],
)
def test_describe_and_why_pending_write_the_same_quantity(resource: str, text: str, written: str) -> None:
    amount = quantities.to_int(resource, text)
    by_scheduling = quantities.format_amount(resource, amount)
    parsed = quantities.parse(text)
    by_describe = format_quantity(resource, parsed)
    assert by_scheduling == by_describe == written
    assert isinstance(parsed, Decimal)
