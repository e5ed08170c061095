"""The project's Python is ruff-clean and ruff-formatted, as `make lint` checks it."""

from __future__ import annotations

import pytest

from harness.core.proc import run
from harness.core.tools import ROOT, tool_path

pytestmark = pytest.mark.lint


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_finds_nothing_to_change(command):
    done = run([tool_path("ruff"), *command, "."], cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
