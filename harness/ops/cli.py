"""What every operator command shares: its name, helm's release options, the tools it runs,
and errors as one line.

The scripts in scripts/ set DFA_SCRIPT to their own path, so usage and errors name
`scripts/deploy`, not the Python module behind it. The commands need Python, helm (3.14 or
newer) and, to reach a cluster, kubectl: the pinned ones in .tools when `make setup-scripts`
or `make setup` installed them, else the operator's own on PATH.
"""

from __future__ import annotations

import argparse
import enum
import json
import math
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.chart.render import DEFAULT_RELEASE, RenderError
from harness.core.proc import CommandError, run
from harness.core.retry import WaitTimeout
from harness.core.tools import ToolError, tool_path

MIN_HELM = (3, 14)
DEFAULT_TIMEOUT = "10m"
DEFAULT_STALL = "30s"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class Exit(enum.IntEnum):
    """What a command's exit code tells CI; `--help` lists them (EXIT_CODES)."""

    OK = 0
    FAILED = 1  # anything not below: a command of the rollout failed, a cluster not reached
    REFUSED = 2  # bad arguments, or values the chart refuses: nothing was changed
    STALLED = 3  # the rollout stopped moving and was stopped where it stood
    ROLLED_BACK = 4  # a hand-over could not finish and was put back as it was
    TIMEOUT = 5  # a wait ran out its --timeout
    FORBIDDEN = 6  # the identity lacks a right the command needs
    BUSY = 7  # another run holds the release (its Lease)
    INTERRUPTED = 130  # SIGINT or SIGTERM: the running helm or kubectl was stopped too


EXIT_CODES = (
    "exit codes: 0 done; 1 failed; 2 refused arguments or values (nothing changed); "
    "3 rollout stalled; 4 hand-over rolled back; 5 timed out; 6 forbidden; 7 another run"
    " holds the release; 130 interrupted"
)


class OperatorError(Exception):
    """A command cannot go on; the message, one line, says why and what to do."""

    exit_code = Exit.FAILED


class Refused(OperatorError):
    """The command's input is wrong; nothing was done."""

    exit_code = Exit.REFUSED


class Forbidden(OperatorError):
    """The identity in the kubeconfig may not do what the command needs."""

    exit_code = Exit.FORBIDDEN


RIGHTS_HINT = "scripts/operator-rbac.yaml lists the rights the scripts need in a namespace"
# The API server's RBAC refusal, as kubectl and helm print it. An admission refusal ("pods
# ... is forbidden: violates PodSecurity") is not about rights and does not match.
_FORBIDDEN = re.compile(r'is forbidden: (User "[^"]*" cannot [^\n]*)')


def forbidden_in(output: str) -> Forbidden | None:
    """A Forbidden quoting the API server's "User … cannot <verb> resource …", if `output`
    holds one."""
    match = _FORBIDDEN.search(output)
    if match is None:
        return None
    return Forbidden(f"forbidden: {match.group(1).rstrip('. ')}; {RIGHTS_HINT}")


def forbidden(error: CommandError) -> Forbidden | None:
    """`error` as a Forbidden when the API server refused the command for want of rights."""
    return forbidden_in(error.stderr + "\n" + error.stdout)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM reached the command."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def prog(module: str) -> str:
    """The name a command goes by: the script that ran it, else `python -m <module>`."""
    return os.environ.get("DFA_SCRIPT") or f"python -m {module}"


def command_line(name: str, argv: Sequence[str] | None) -> str:
    """How the user called the command `name` (its arguments, sys.argv's when not given)."""
    return shlex.join([name, *(sys.argv[1:] if argv is None else argv)])


def duration_seconds(text: str) -> float:
    """A helm/kubectl duration ("90s", "10m", "1m30s", "1h") in seconds."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 90s, 10m, 1m30s or 1h")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def duration_argument(text: str) -> str:
    """argparse type: a duration, kept as the text helm and kubectl take."""
    try:
        duration_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def parse_set_args(pairs: Sequence[str], flag: str = "--set") -> dict[str, str]:
    """`KEY=VALUE` command-line arguments as the `set` mapping of `render()`."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Refused(f"{flag} takes KEY=VALUE, got {pair!r}")
        parsed[key] = value
    return parsed


@dataclass(frozen=True)
class Deadline:
    """When a command's whole run must end: its --timeout, counted from the start."""

    timeout: str
    ends: float

    @classmethod
    def start(cls, timeout: str, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(timeout, clock() + duration_seconds(timeout))

    def seconds_left(self, clock: Callable[[], float] = time.monotonic) -> float:
        return max(0.0, self.ends - clock())

    def passed(self, grace_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> bool:
        return clock() >= self.ends + grace_s

    def left(self, clock: Callable[[], float] = time.monotonic) -> str:
        """What is left, as the duration helm and kubectl take (at least 1s)."""
        return f"{max(1, math.ceil(self.seconds_left(clock)))}s"


def add_values_arguments(parser: argparse.ArgumentParser) -> None:
    """The release, chart, values and cluster options, spelled as helm spells them."""
    parser.add_argument(
        "--release", default=DEFAULT_RELEASE, help=f"release name (default {DEFAULT_RELEASE})"
    )
    parser.add_argument(
        "--namespace",
        "-n",
        help="the release's namespace (default: the kube context's namespace, else `default`,"
        " as helm takes it)",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="the kubeconfig to use (default: the files in KUBECONFIG, else ~/.kube/config)",
    )
    parser.add_argument(
        "--kube-context", metavar="NAME", help="the kubeconfig context to use (default: current)"
    )
    parser.add_argument(
        "--chart",
        metavar="REF",
        help="the chart: a directory, a .tgz, REPO/NAME or oci://… (default: charts/"
        "dummy-flask-app next to this script)",
    )
    parser.add_argument(
        "--version",
        metavar="VERSION",
        help="the chart version to take from a repository or OCI registry (default: newest)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="install only a packaged chart whose provenance (.prov) a key of --keyring signed",
    )
    parser.add_argument(
        "--keyring",
        type=Path,
        metavar="FILE",
        help="public keys for --verify (default: helm's, ~/.gnupg/pubring.gpg)",
    )
    parser.add_argument(
        "--cosign-key",
        type=Path,
        metavar="FILE",
        help="install from oci://… only a chart whose digest this cosign public key signed",
    )
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="the chart's OCI registry speaks HTTP, not HTTPS",
    )
    parser.add_argument(
        "--values",
        "-f",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a values file (repeat; later ones win)",
    )
    for flag, what in (
        ("--set", "KEY=VALUE"),
        ("--set-string", "KEY=STRING: the value stays a string (a numeric image.tag)"),
        ("--set-file", "KEY=PATH: the value is the file's content"),
    ):
        parser.add_argument(
            flag,
            dest=flag.removeprefix("--").replace("-", "_") + "_values",
            action="append",
            default=[],
            metavar=what.split(":")[0],
            help=f"set {what} (repeat; merged after -f, in this order, as helm does)",
        )


def confirm(name: str, deleted: Sequence[str], yes: bool) -> None:
    """Go on only when the user agrees that `deleted` will be deleted: `--yes`, or "y" typed
    at the terminal. Without a terminal to ask on, and without --yes, nothing is done."""
    if yes or not deleted:
        return
    what = "; ".join(deleted)
    if not sys.stdin.isatty():
        raise Refused(f"this deletes {what}; give --yes to go ahead (no terminal to ask on)")
    print(f"{name}: this deletes {what}.", file=sys.stderr)
    print("Go on? [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise Refused("not confirmed; nothing was changed")


def add_rollout_arguments(parser: argparse.ArgumentParser, *, deletes: str = "") -> None:
    """What every command that rolls out takes: the values, a timeout and a dry run; and
    `--yes` when the command `deletes` something (said in its help)."""
    add_values_arguments(parser)
    parser.add_argument(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        type=duration_argument,
        help=f"how long the whole run may take, waiting for the lock included (default"
        f" {DEFAULT_TIMEOUT}); helm and kubectl get what is left of it",
    )
    if deletes:
        parser.add_argument(
            "--yes",
            "-y",
            action="store_true",
            help=f"delete without asking: {deletes} (without --yes the command asks at a"
            " terminal, and refuses without one)",
        )
    parser.add_argument(
        "--stall-timeout",
        default=DEFAULT_STALL,
        type=duration_argument,
        help=f"stop when the rollout has not moved for this long and a pod is held by something"
        f" that will not pass by itself (default {DEFAULT_STALL}; 0s waits out --timeout)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands; change nothing")
    parser.add_argument(
        "--reuse-values",
        action="store_true",
        help="start from the values the release was last given (helm get values), then the"
        " given -f and --set; without it, as with helm, values not given take the chart's"
        " defaults",
    )
    parser.add_argument(
        "--wait-for-lock",
        default="0s",
        type=duration_argument,
        help="how long to wait while another run of these scripts holds the release"
        " (default 0s: stop at once, naming it)",
    )
    parser.add_argument(
        "--uninstall-pending",
        action="store_true",
        help="uninstall the release, then install it again, when a dead run left its first"
        " install pending; without this it is marked failed and upgraded, as a pending"
        " upgrade or rollback is",
    )


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


def last_line(stdout: str, stderr: str) -> str:
    """What a failed command said last: its stderr's last line, else its stdout's, else ""."""
    said = (stderr.strip() or stdout.strip()).splitlines()
    return said[-1] if said else ""


def one_line(error: BaseException) -> str:
    """An error as the single line a command prints."""
    if isinstance(error, RenderError):
        return f"the chart refuses these values: {error.chart_message}"
    if isinstance(error, CommandError):
        if (refused := forbidden(error)) is not None:
            return str(refused)
        last = last_line(error.stdout, error.stderr)
        return f"`{error.cmdline}` failed ({error.reason})" + (f": {last}" if last else "")
    return " ".join(str(error).split())


# What a command may hit that is the world's fault, not a bug: reported, never a traceback.
EXPECTED = (OperatorError, ToolError, CommandError, WaitTimeout, OSError)


def exit_code(error: BaseException) -> Exit:
    """The exit code that tells CI what kind of failure `error` is."""
    if isinstance(error, OperatorError):
        return error.exit_code
    if isinstance(error, RenderError):
        return Exit.REFUSED
    if isinstance(error, WaitTimeout):
        return Exit.TIMEOUT
    if isinstance(error, CommandError) and forbidden(error) is not None:
        return Exit.FORBIDDEN
    return Exit.FAILED


def run_main(name: str, body: Callable[[], int | None]) -> int:
    """Run a command's body: a failure is one line on stderr and an exit code that says what
    kind it is (Exit); SIGTERM stops it as SIGINT does, and neither leaves a traceback."""
    before = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return body() or 0
    except Interrupted as stop:
        print(f"{name}: interrupted by {stop}; rerun the same command to go on", file=sys.stderr)
        return Exit.INTERRUPTED
    except KeyboardInterrupt:
        print(f"{name}: interrupted by SIGINT; rerun the same command to go on", file=sys.stderr)
        return Exit.INTERRUPTED
    except EXPECTED as error:
        print(f"{name}: error: {one_line(error)}", file=sys.stderr)
        return exit_code(error)
    except Exception as error:  # a bug: still one line, with what to report
        print(
            f"{name}: error: unexpected {type(error).__name__}: {one_line(error)} (a bug in"
            " the script; please report it with the command line)",
            file=sys.stderr,
        )
        return Exit.FAILED
    finally:
        signal.signal(signal.SIGTERM, before)  # a caller in the same process keeps its own
