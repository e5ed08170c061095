"""The README shows what really happens: its console examples are run and their output compared.

In a ```console block each `$ command` is run from the repository with the pinned tools
first on PATH, and the lines shown after it must appear in its output in that order; a line
holding `[…]` only has to start like the output, and a line that is nothing but `[…]` stands
for any number of lines. Commands that need a cluster are in ```bash blocks; of those this
checks that every `make` target and every script they name exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.core.tools import ROOT, tool_env

DOCS = (ROOT / "README.md", ROOT / "docs" / "development.md")
ELLIPSIS = "[…"


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", path.read_text(), re.MULTILINE | re.DOTALL)


def examples(path: Path) -> list[tuple[str, list[str]]]:
    """(command, the output lines shown for it) for every `$ ` line of the console blocks."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks(path, "console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return found


def shown_in(shown: list[str], actual: list[str]) -> str | None:
    """None when every shown line appears in `actual` in order, else the first that does not."""
    position = 0
    for line in shown:
        if line.startswith(ELLIPSIS) and line.endswith("]"):
            continue
        prefix = line.split(ELLIPSIS, 1)[0] if ELLIPSIS in line else None
        for index in range(position, len(actual)):
            if actual[index] == line or (prefix is not None and actual[index].startswith(prefix)):
                position = index + 1
                break
        else:
            return line
    return None


CASES = [(path, command, shown) for path in DOCS for command, shown in examples(path)]


def test_the_readme_has_console_examples_to_check():
    assert len([case for case in CASES if case[0].name == "README.md"]) >= 3


@pytest.mark.parametrize(
    ("path", "command", "shown"), CASES, ids=[f"{p.name}: {c[:60]}" for p, c, _ in CASES]
)
def test_a_console_example_prints_what_it_shows(path, command, shown):
    done = subprocess.run(
        command,
        shell=True,
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    actual = (done.stdout + done.stderr).splitlines()
    missing = shown_in(shown, actual)
    assert missing is None, f"{path.name}: `{command}` did not print {missing!r}; it printed:\n" + (
        "\n".join(actual)
    )


def test_a_changed_output_line_would_be_caught():
    assert shown_in(["a", "[…b…]", "c[…]"], ["a", "x", "cde"]) is None
    assert shown_in(["a", "c"], ["c", "a"]) == "c"


def mentioned(pattern: str) -> set[str]:
    return {
        name
        for path in DOCS
        for block in blocks(path, "bash")
        for name in re.findall(pattern, block)
    }


def test_every_make_target_the_docs_run_exists():
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    assert mentioned(r"\bmake ([a-z-]+)") <= targets


def test_every_script_the_docs_run_exists():
    for name in mentioned(r"\bscripts/([a-z-]+(?:\.[a-z]+)?)"):  # operator-rbac.yaml too
        assert (ROOT / "scripts" / name).is_file(), name
