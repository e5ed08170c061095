"""A Docker Engine of the project's own: its data, sockets and log under .tools/scratch/docker.

`Engine.start()` runs Debian's dockerd in its own session, reachable only through a unix
socket (no TCP listener), and waits until it answers; `Engine.stop()` ends it and every
process it started. `Engine.docker(...)` runs Debian's client against it: the client on PATH
may be a newer release (28.x here) that needs the buildx plugin to build, while Debian's
client speaks the daemon's own API version and has BuildKit built in.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.proc import DEFAULT_TIMEOUT_S, CommandError, run
from harness.core.retry import WaitTimeout, wait_for
from harness.core.tools import TOOLS_DIR

DOCKERD = Path("/usr/sbin/dockerd")
DOCKER = Path("/usr/bin/docker")
ENGINE_HOME = TOOLS_DIR / "scratch" / "docker"

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.2
PING_TIMEOUT_S = 5.0

# dockerd's default ulimits exceed this machine's hard limits (see shared/TOOLS.md).
ULIMITS = ("nofile=1024:1024", "nproc=4096:4096")

# A unix socket path must fit in 108 bytes; containerd's sockets live under the exec root.
_SOCKET_PATH_MAX = 100
_LONGEST_SOCKET = "containerd/containerd.sock.ttrpc"


class EngineError(Exception):
    """The engine could not be started or stopped; the message says why and where to look."""


def _runtime_dir(home: Path) -> Path:
    """Where the sockets go: under `home`, unless that makes a socket path too long."""
    preferred = home / "run"
    if len(str(preferred / _LONGEST_SOCKET)) <= _SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path("/tmp") / f"dfa-docker-{digest}"


def _alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _processes_mentioning(marker: str) -> Iterator[tuple[int, str]]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and _alive(int(entry.name)):
            yield int(entry.name), cmdline.strip()


@dataclass(frozen=True)
class Engine:
    """One dockerd with everything it owns below `home`."""

    home: Path = ENGINE_HOME

    @property
    def data_root(self) -> Path:
        return self.home / "data"

    @property
    def exec_root(self) -> Path:
        return _runtime_dir(self.home) / "exec"

    @property
    def socket(self) -> Path:
        return _runtime_dir(self.home) / "docker.sock"

    @property
    def pidfile(self) -> Path:
        return self.home / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.home / "dockerd.log"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        """os.environ for Debian's client talking to this engine, with BuildKit on.

        DOCKER_CONFIG points into `home` so a user's ~/.docker (contexts, credential
        helpers) cannot redirect or slow down the project's engine.
        """
        return {
            **os.environ,
            "DOCKER_HOST": self.host,
            "DOCKER_BUILDKIT": "1",
            "DOCKER_CONFIG": str(self.home / "client"),
        }

    def docker(
        self,
        *args: str | Path,
        timeout: float = DEFAULT_TIMEOUT_S,
        check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return run([DOCKER, *args], env=self.env(), timeout=timeout, check=check, input=input)

    def dockerd_args(self) -> list[str]:
        args = [
            str(DOCKERD),
            "--data-root",
            str(self.data_root),
            "--exec-root",
            str(self.exec_root),
            "--pidfile",
            str(self.pidfile),
            "--host",
            self.host,
            # A published port without an address binds loopback, never every interface.
            "--ip",
            "127.0.0.1",
        ]
        for ulimit in ULIMITS:
            args += ["--default-ulimit", ulimit]
        return args

    def server_version(self) -> str | None:
        """The daemon's version, or None when nothing answers on the socket."""
        if not self.socket.exists():
            return None
        try:
            out = self.docker(
                "version", "--format", "{{.Server.Version}}", timeout=PING_TIMEOUT_S
            ).stdout
        except CommandError:
            return None
        return out.strip() or None

    def is_running(self) -> bool:
        return self.server_version() is not None

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start(self, timeout: float = START_TIMEOUT_S) -> bool:
        """Start dockerd unless it already answers; True when this call started it."""
        if self.is_running():
            return False
        for tool in (DOCKERD, DOCKER):
            if not tool.exists():
                raise EngineError(f"{tool} is missing; run `make setup` (Debian package docker.io)")
        if self.pid() is not None:
            raise EngineError(
                f"dockerd {self.pid()} holds {self.pidfile} but does not answer on {self.socket};"
                f" run `python -m harness.container down`, then see {self.log}"
            )
        for folder in (self.home, self.exec_root.parent, self.env()["DOCKER_CONFIG"]):
            Path(folder).mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            # Its own session: Ctrl-C in the terminal that ran the tests must not kill the
            # engine half-way; stop() ends it.
            process = subprocess.Popen(
                self.dockerd_args(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def answers() -> bool:
            if self.is_running():
                return True
            if (code := process.poll()) is not None:
                tail = self._log_tail()
                raise EngineError(
                    f"dockerd exited with {code} while starting; see {self.log}:\n{tail}"
                )
            return False

        try:
            wait_for(answers, f"dockerd to answer on {self.socket}", timeout, POLL_INTERVAL_S)
        except WaitTimeout as timed_out:
            process.terminate()
            raise EngineError(f"{timed_out}; see {self.log}:\n{self._log_tail()}") from None
        return True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """End dockerd (which ends its containerd and containers) and anything left of them."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone([pid], timeout):
                os.kill(pid, signal.SIGKILL)
                _wait_gone([pid], STOP_TIMEOUT_S)
        # A container's shim outlives a killed daemon; it is ours if it names our exec root.
        leftovers = self.leftover_processes()
        for left_pid, _ in leftovers:
            os.kill(left_pid, signal.SIGKILL)
        if leftovers and not _wait_gone([p for p, _ in leftovers], STOP_TIMEOUT_S):
            raise EngineError(f"processes of the engine survived SIGKILL: {leftovers}")

    def leftover_processes(self) -> list[tuple[int, str]]:
        """Running processes whose command line names this engine's data or exec root."""
        found = dict(_processes_mentioning(str(self.exec_root)))
        found.update(_processes_mentioning(str(self.data_root)))
        found.pop(os.getpid(), None)
        return sorted(found.items())

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _wait_gone(pids: Sequence[int], timeout: float) -> bool:
    """Whether `pids` ended within `timeout` (not our children: dockerd has its own session)."""
    try:
        wait_for(
            lambda: not any(_alive(pid) for pid in pids),
            f"pids {pids} to end",
            timeout,
            POLL_INTERVAL_S,
        )
    except WaitTimeout:
        return False
    return True
