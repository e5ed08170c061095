"""Run a subprocess and, when it fails, raise an error that shows everything needed to debug it."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_TIMEOUT_S = 600.0


class ExternalError(Exception):
    """Something outside this process (a command, a server) reported a failure."""


class CommandError(ExternalError):
    """A command exited non-zero or timed out; carries its command line, exit code and output."""

    def __init__(
        self,
        args: Sequence[str],
        returncode: int | None,
        stdout: str,
        stderr: str,
        reason: str = "",
    ) -> None:
        super().__init__()
        self.args = tuple(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.reason = reason or f"exit code {returncode}"

    @property
    def cmdline(self) -> str:
        return shlex.join(self.args)

    def __str__(self) -> str:
        return "\n".join(
            [
                f"command failed ({self.reason}): {self.cmdline}",
                "--- stdout ---",
                self.stdout.rstrip(),
                "--- stderr ---",
                self.stderr.rstrip(),
            ]
        )


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run(
    args: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str | None = None,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` capturing text output; raise CommandError on failure when ``check``."""
    argv = [str(a) for a in args]
    try:
        result = subprocess.run(
            argv,
            env=None if env is None else dict(env),
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(
            argv, None, _text(exc.stdout), _text(exc.stderr), f"timed out after {timeout:g} s"
        ) from exc
    if check and result.returncode != 0:
        raise CommandError(argv, result.returncode, result.stdout, result.stderr)
    return result
