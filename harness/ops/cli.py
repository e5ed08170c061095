"""What every operator command shares: its name, helm's release options, the tools it runs,
and errors as one line.

The scripts in scripts/ set DFA_SCRIPT to their own path, so usage and errors name
`scripts/deploy`, not the Python module behind it. The commands need Python, helm (3.14 or
newer) and, to reach a cluster, kubectl: the pinned ones in .tools when `make setup-scripts`
or `make setup` installed them, else the operator's own on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.chart.render import DEFAULT_NAMESPACE, DEFAULT_RELEASE, RenderError
from harness.core.proc import CommandError, run
from harness.core.retry import WaitTimeout
from harness.core.tools import ToolError, tool_path

MIN_HELM = (3, 14)
DEFAULT_TIMEOUT = "10m"
DEFAULT_STALL = "30s"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class OperatorError(Exception):
    """A command cannot go on; the message, one line, says why and what to do."""


def prog(module: str) -> str:
    """The name a command goes by: the script that ran it, else `python -m <module>`."""
    return os.environ.get("DFA_SCRIPT") or f"python -m {module}"


def duration_seconds(text: str) -> float:
    """A helm/kubectl duration ("90s", "10m", "1m30s", "1h") in seconds."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 90s, 10m, 1m30s or 1h")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _duration(text: str) -> str:
    """argparse type: a duration, kept as the text helm and kubectl take."""
    try:
        duration_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def parse_set_args(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` command-line arguments as the `set` mapping of `render()`."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise OperatorError(f"--set takes KEY=VALUE, got {pair!r}")
        parsed[key] = value
    return parsed


def add_values_arguments(parser: argparse.ArgumentParser) -> None:
    """The release and values options, spelled as helm spells them."""
    parser.add_argument("--release", default=DEFAULT_RELEASE, help="release name")
    parser.add_argument("--namespace", "-n", default=DEFAULT_NAMESPACE)
    parser.add_argument("--values", "-f", action="append", default=[], type=Path, metavar="FILE")
    parser.add_argument(
        "--set", dest="set_values", action="append", default=[], metavar="KEY=VALUE"
    )


def add_rollout_arguments(parser: argparse.ArgumentParser) -> None:
    """What every command that rolls out takes: the values, a timeout and a dry run."""
    add_values_arguments(parser)
    parser.add_argument(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        type=_duration,
        help=f"how long each wait may take, as helm takes it (default {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--stall-timeout",
        default=DEFAULT_STALL,
        type=_duration,
        help=f"stop when the rollout has not moved for this long and a pod is held by something"
        f" that will not pass by itself (default {DEFAULT_STALL}; 0s waits out --timeout)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands; change nothing")


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.path})"


def _version_numbers(version: str) -> tuple[int, ...]:
    match = re.match(r"v?([0-9]+)\.([0-9]+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else ()


def _reported(command: Sequence[str | Path]) -> str:
    try:
        return run(command, timeout=30).stdout.strip()
    except (CommandError, OSError) as error:
        raise OperatorError(f"`{' '.join(map(str, command))}` does not run: {error}") from None


def helm_tool() -> Tool:
    """The helm the commands run, refused when older than MIN_HELM."""
    path = tool_path("helm")
    return check_helm(
        Tool("helm", path, _reported([path, "version", "--template", "{{.Version}}"]))
    )


def check_helm(helm: Tool) -> Tool:
    """`helm`, unless its version is older than MIN_HELM or cannot be read."""
    wanted = ".".join(map(str, MIN_HELM))
    numbers = _version_numbers(helm.version)
    if not numbers:
        raise OperatorError(f"cannot tell the version of {helm.path} ({helm.version!r})")
    if numbers < MIN_HELM:
        raise OperatorError(
            f"helm {helm.version} at {helm.path} is older than {wanted}; install helm {wanted}"
            " or newer (3 or 4), or run `make setup-scripts` for the pinned one"
        )
    return helm


def kubectl_tool() -> Tool:
    path = tool_path("kubectl")
    out = _reported([path, "version", "--client", "--output", "json"])
    try:
        version = json.loads(out)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError) as error:
        raise OperatorError(f"cannot tell the version of {path}: {error}") from None
    return Tool("kubectl", path, version)


def report_tools(*tools: Tool) -> None:
    """Say on stderr which tools run, so stdout stays the command's own output."""
    print("using " + ", ".join(map(str, tools)), file=sys.stderr, flush=True)


def one_line(error: BaseException) -> str:
    """An error as the single line a command prints."""
    if isinstance(error, RenderError):
        return f"the chart refuses these values: {error.chart_message}"
    if isinstance(error, CommandError):
        last = (error.stderr.strip() or error.stdout.strip()).splitlines()[-1:]
        return f"`{error.cmdline}` failed ({error.reason})" + (f": {last[0]}" if last else "")
    return " ".join(str(error).split())


# What a command may hit that is the world's fault, not a bug: reported, never a traceback.
EXPECTED = (OperatorError, ToolError, CommandError, WaitTimeout, OSError)


def run_main(name: str, body: Callable[[], int | None]) -> int:
    """Run a command's body; an expected failure is one line on stderr and exit code 1."""
    try:
        return body() or 0
    except EXPECTED as error:
        print(f"{name}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
