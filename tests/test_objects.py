"""Conditions read from objects shaped as the API server returns them, also just created."""

from __future__ import annotations

import pytest

from harness.core.objects import has_condition, is_ready


@pytest.mark.parametrize(
    "obj",
    [
        {"metadata": {"name": "new"}},
        {"metadata": {"name": "new"}, "status": None},
        {"metadata": {"name": "new"}, "status": {"conditions": None}},
        {"status": {"conditions": [{"type": "Established", "status": "False"}]}},
        {"status": {"conditions": [{"type": "NamesAccepted", "status": "True"}]}},
    ],
    ids=["no-status", "null-status", "null-conditions", "false", "another-condition"],
)
def test_a_condition_that_is_missing_null_or_false_is_not_met(obj):
    assert not has_condition(obj, "Established")


def test_a_true_condition_is_met_and_ready_is_the_ready_condition():
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert has_condition(ready, "Ready")
    assert is_ready(ready)
    assert not is_ready({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})
