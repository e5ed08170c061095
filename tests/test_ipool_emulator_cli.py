"""The ipool emulator's command line is the one its module doc shows."""

from __future__ import annotations

import re
import shlex

import pytest

from harness.ipool import emulator

USAGE = [
    line.strip()
    for line in (emulator.__doc__ or "").splitlines()
    if line.strip().startswith(emulator.PROG)
]


def spellings(line: str) -> list[list[str]]:
    """The arguments of a usage line without its [optional] parts, and with all of them."""
    words = shlex.split(line.removeprefix(emulator.PROG))
    without = shlex.split(re.sub(r"\[[^]]*\]", "", line.removeprefix(emulator.PROG)))
    with_all = [w.strip("[]") for w in words if w.strip("[]") not in ("", "...")]
    return [without, with_all]


def test_the_module_doc_shows_a_usage_line_for_every_command():
    listed = re.search(r"\{([a-z,]+)\}", emulator.parser().format_usage())
    assert listed is not None
    documented = {shlex.split(line.removeprefix(emulator.PROG))[2] for line in USAGE}
    assert documented == set(listed.group(1).split(","))


@pytest.mark.parametrize("line", USAGE)
def test_each_documented_usage_line_parses(line: str):
    for argv in spellings(line):
        args = emulator.parser().parse_args(argv)
        assert str(args.kubeconfig) == "K"


def test_the_help_names_the_command_as_it_is_run():
    assert emulator.parser().format_usage().startswith(f"usage: {emulator.PROG} ")
