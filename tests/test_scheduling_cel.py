"""The CEL subset clusterdoc evaluates for DRA device selectors, and the refusal beyond it."""

from __future__ import annotations

import pytest

from clusterdoc.workers.scheduling.cel import Device, RuntimeFailure, Unsupported, drivers_named, evaluate

GPU = Device(
    "gpu.example.com",
    {"model": {"string": "A100"}, "index": {"int": 1}, "gpu.example.com/mig": {"bool": False},
     "other.io/zone": {"string": "a"}, "driverVersion": {"version": "550.54.15"}},
    {"memory": {"value": "40Gi"}},
)


@pytest.mark.parametrize(("expression", "expected"), [
    pytest.param('device.driver == "gpu.example.com"', True, id="driver"),
    pytest.param('device.driver != "gpu.example.com"', False, id="driver-not"),
    pytest.param('device.attributes["gpu.example.com"].model == "A100"', True, id="unqualified-attribute"),
    pytest.param("device.attributes['gpu.example.com'].index >= 2", False, id="int-compare"),
    pytest.param('device.attributes["gpu.example.com"].mig', False, id="qualified-bool"),
    pytest.param('device.attributes["other.io"].zone == "a"', True, id="other-domain"),
    pytest.param('device.capacity["gpu.example.com"].memory.compareTo(quantity("32Gi")) >= 0', True, id="quantity"),
    pytest.param('device.capacity["gpu.example.com"].memory.isLessThan(quantity("32Gi"))', False, id="quantity-less"),
    pytest.param('"model" in device.attributes["gpu.example.com"] && !device.attributes["gpu.example.com"].mig',
                 True, id="in-and-not"),
    pytest.param('"memory" in device.attributes["gpu.example.com"] && device.attributes["gpu.example.com"].memory > 1',
                 False, id="guarded-missing-key"),
    pytest.param('device.attributes["gpu.example.com"].model.startsWith("A1") || false', True, id="startsWith"),
    pytest.param('device.attributes["gpu.example.com"].model == 100', False, id="different-types-not-equal"),
])
def test_evaluates(expression: str, expected: bool) -> None:
    assert evaluate(expression, GPU) is expected


@pytest.mark.parametrize("expression", [
    pytest.param('device.attributes["gpu.example.com"].driverVersion.isGreaterThan(semver("550.0.0"))', id="semver"),
    pytest.param("size(device.attributes) > 0", id="size"),
    pytest.param('device.attributes.exists(k, k == "x")', id="macro"),
])
def test_says_when_beyond_the_subset(expression: str) -> None:
    with pytest.raises(Unsupported):
        evaluate(expression, GPU)


def test_missing_attribute_is_a_runtime_failure() -> None:
    with pytest.raises(RuntimeFailure, match="no such key"):
        evaluate('device.attributes["gpu.example.com"].vendor == "x"', GPU)


def test_drivers_named() -> None:
    assert drivers_named('device.driver == "a.io" || device.driver == \'b.io\'') == {"a.io", "b.io"}
