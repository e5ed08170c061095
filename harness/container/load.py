"""Load generators for loopback targets: wrk for throughput, a counting client for shutdowns.

`wrk()` runs Debian's wrk for a fixed time over a fixed number of connections and parses its
report, with the CPU time wrk itself used (the load generator shares the machine with the
server it loads). `SteadyLoad` keeps a few persistent HTTP/1.1 connections busy from Python
threads and accounts for every request it sends, so a test can say exactly how many failed.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from harness.core.retry import WaitTimeout, wait_for

WRK = Path("/usr/bin/wrk")
_LATENCY_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


class LoadError(Exception):
    """The load generator could not run or its report could not be read."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect, read, write and timeout errors together
    non_2xx: int
    cpu_s: float = 0.0  # wrk's own user + system CPU seconds (0 when read from a report alone)

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx


def _latency_ms(text: str, percentile: int) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([0-9.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
    if not match:
        raise LoadError(f"no {percentile}% latency in wrk's report:\n{text}")
    return float(match.group(1)) * _LATENCY_UNITS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    """Read wrk's `--latency` report."""
    total = re.search(r"^\s*([0-9]+) requests in ([0-9.]+)(us|ms|s|m)", text, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.MULTILINE)
    if not total or not rate:
        raise LoadError(f"wrk's report has no request count:\n{text}")
    socket = re.search(
        r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", text
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", text)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _LATENCY_UNITS[total.group(3)] / 1e3,
        requests_per_s=float(rate.group(1)),
        p50_ms=_latency_ms(text, 50),
        p99_ms=_latency_ms(text, 99),
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise LoadError(f"load is only ever sent to loopback, not to {host}")


def wrk(
    url: str, *, seconds: int, connections: int, threads: int = 1, timeout_s: int = 5
) -> WrkResult:
    """Run wrk against a loopback `url` for `seconds` over `connections` connections."""
    check_loopback(url)
    if not WRK.exists():
        raise LoadError(f"{WRK} is missing; run `make setup` (Debian package wrk)")
    command = [
        str(WRK),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={timeout_s}s",
        "--latency",
        url,
    ]
    try:
        done = run_measured(command, timeout_s=seconds + 30)
    except subprocess.TimeoutExpired as error:
        raise LoadError(f"wrk ran past {seconds + 30} s: {' '.join(command)}") from error
    if done.returncode != 0:
        raise LoadError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return replace(parse_wrk(done.stdout), cpu_s=done.cpu_s)


@dataclass(frozen=True)
class Measured:
    """A finished command: its exit code, output and the CPU time it used."""

    returncode: int
    stdout: str
    stderr: str
    cpu_s: float  # user + system seconds of the command (and children it waited for)


def run_measured(command: list[str], *, timeout_s: float) -> Measured:
    """Run `command` to its end and read its own CPU time from the kernel as it is reaped.

    os.wait4 gives the rusage of this one process, unlike RUSAGE_CHILDREN, which would also
    count every `docker` command other threads ran meanwhile (the memory monitor's).
    """
    killed = threading.Event()

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)

        def kill() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        if killed.is_set():
            raise subprocess.TimeoutExpired(command, timeout_s)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=process.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            cpu_s=usage.ru_utime + usage.ru_stime,
        )


@dataclass
class LoadReport:
    """Every request `SteadyLoad` sent, by outcome."""

    sent: int = 0
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    in_flight_at_stop: int = 0
    answered_after_stop: int = 0
    closed_by_server: int = 0  # connections the server ended with "Connection: close"


class SteadyLoad:
    """Keeps `connections` persistent HTTP/1.1 connections, each sending one request after another.

    A connection is opened once and never reopened: when the server answers with
    "Connection: close" (as a stopping gunicorn does) or the connection breaks, its thread
    ends, the way a proxy would take its next request to another endpoint. `stop()` ends the
    sending everywhere; requests already sent are still waited for and counted. A request
    counts as answered when the status is 200 and the body is `expected_body`; anything
    else, and any exception, is a failure with its reason.
    """

    def __init__(
        self,
        url: str,
        *,
        expected_body: bytes,
        connections: int = 8,
        max_requests: int = 100_000,
        request_timeout_s: float = 10.0,
    ) -> None:
        check_loopback(url)
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._expected = expected_body
        self._connections = connections
        self._max_requests = max_requests
        self._timeout = request_timeout_s
        self._lock = threading.Lock()
        self._sending = threading.Event()
        self._in_flight = 0
        self._stopped_at: float | None = None
        self.report = LoadReport()
        self._threads = [
            threading.Thread(target=self._run, name=f"load-{n}", daemon=True)
            for n in range(connections)
        ]

    def start(self) -> None:
        self._sending.set()
        for thread in self._threads:
            thread.start()

    def wait_for_answers(self, count: int, timeout: float) -> None:
        """Block until `count` requests have been answered; LoadError after `timeout`."""
        try:
            wait_for(lambda: self.report.answered >= count, f"{count} answers", timeout, 0.05)
        except WaitTimeout:
            raise LoadError(
                f"only {self.report.answered} of {count} requests answered in {timeout:g} s;"
                f" failures: {self.report.failures[:5]}"
            ) from None

    def stop(self) -> int:
        """Send no more requests; returns how many were in flight at this moment."""
        with self._lock:
            self._sending.clear()
            self._stopped_at = time.monotonic()
            self.report.in_flight_at_stop = self._in_flight
        return self.report.in_flight_at_stop

    def join(self, timeout: float) -> LoadReport:
        """Wait for every request in flight to finish; LoadError when one still runs."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        running = [thread.name for thread in self._threads if thread.is_alive()]
        if running:
            raise LoadError(f"requests still unanswered after {timeout:g} s on {running}")
        return self.report

    def _take_ticket(self) -> bool:
        with self._lock:
            if not self._sending.is_set() or self.report.sent >= self._max_requests:
                return False
            self.report.sent += 1
            self._in_flight += 1
            return True

    def _settle(self, failure: str | None) -> None:
        with self._lock:
            self._in_flight -= 1
            if failure is not None:
                self.report.failures.append(failure)
                return
            self.report.answered += 1
            if self._stopped_at is not None:
                self.report.answered_after_stop += 1

    def _run(self) -> None:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            while self._take_ticket():
                failure, closed = self._one_request(connection)
                self._settle(failure)
                if closed:
                    break
        finally:
            connection.close()

    def _one_request(self, connection: http.client.HTTPConnection) -> tuple[str | None, bool]:
        """Send one request: (None or the reason it failed, whether the connection is done)."""
        failure, closed = get_once(connection, self._path, self._expected)
        if failure is None and closed:
            with self._lock:
                self.report.closed_by_server += 1
        return failure, closed


def get_once(
    connection: http.client.HTTPConnection,
    path: str,
    expected_body: bytes,
    headers: Mapping[str, str] | None = None,
) -> tuple[str | None, bool]:
    """One GET on `connection`: (None, or why it failed: the exception, or a status or body
    other than 200 and `expected_body`; whether the connection is done)."""
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        return f"{type(error).__name__}: {error}", True
    if response.status != 200 or body != expected_body:
        return f"HTTP {response.status}: {body[:80]!r}", response.will_close
    return None, response.will_close
