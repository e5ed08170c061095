"""Steady, bounded HTTP load on one URL, with every request accounted for.

Run inside the local cluster's network namespace (`python -m harness.traffic.client URL`),
it is the client of a Service while a rollout replaces the pods behind it. Two kinds of
client share a fixed total rate, each thread on a fixed schedule:

- *new connections*: every request opens its own connection and asks the server to close it,
  like a client that does not pool connections;
- *keep-alive*: each thread keeps one connection and sends request after request on it; when
  the server answers with "Connection: close" (a stopping gunicorn does), the thread opens a
  new connection for its next request, as connection pools do. Nothing is ever retried.

A request counts as answered when the status is 200 and the body is the expected one;
anything else (refused, reset, timed out, another answer) is a failure, kept with its time
and reason. Once every thread has had an answer the client prints `sending`; on SIGTERM or
SIGINT, or after `--max-seconds`, it stops sending, waits for the requests in flight and
prints its report as one JSON line.

Load goes only to loopback, or to the cluster's own pod and Service addresses from inside
the cluster's network namespace: the check refuses anything else before a request is sent.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from harness.cluster.addresses import CLUSTER_CIDR, NODE_IP, SERVICE_CIDR
from harness.container.load import get_once

MAX_RATE = 200.0
MAX_SECONDS = 600.0
REQUEST_TIMEOUT_S = 5.0
CLUSTER_NETWORKS = [ipaddress.ip_network(CLUSTER_CIDR), ipaddress.ip_network(SERVICE_CIDR)]


class TrafficError(Exception):
    """The load could not be started as asked."""


def check_target(url: str) -> None:
    """Loopback, or a pod or Service address of the local cluster seen from inside its
    network namespace; TrafficError for anything else."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise TrafficError(f"load goes to an IP address, not to the name {host!r}") from None
    if address.is_loopback:
        return
    if not any(address in network for network in CLUSTER_NETWORKS):
        raise TrafficError(
            f"load goes only to loopback or to the local cluster's pods and Services "
            f"({CLUSTER_CIDR}, {SERVICE_CIDR}), not to {address}"
        )
    if not _in_cluster_namespace():
        raise TrafficError(
            f"{address} is a cluster address: send load to it from inside the cluster's "
            "network namespace (LocalCluster.namespaces.enter), never from the host's"
        )


def _in_cluster_namespace() -> bool:
    """Whether this process's network namespace is the cluster's: only there is the node's
    address a local one (the root namespace never has it)."""
    with socket.socket() as probe:
        try:
            probe.bind((NODE_IP, 0))
        except OSError:
            return False
    return True


@dataclass
class Tally:
    """The requests of one kind of client."""

    sent: int = 0
    answered: int = 0
    failures: list[str] = field(default_factory=list)  # "<seconds in> s: <reason>"


@dataclass
class TrafficReport:
    url: str
    rate_per_s: float
    seconds: float
    new_connections: Tally
    keep_alive: Tally
    reconnects: int  # keep-alive connections the server ended with "Connection: close"

    @property
    def sent(self) -> int:
        return self.new_connections.sent + self.keep_alive.sent

    @property
    def failed(self) -> int:
        return len(self.new_connections.failures) + len(self.keep_alive.failures)

    @classmethod
    def from_json(cls, text: str) -> TrafficReport:
        data = json.loads(text)
        for kind in ("new_connections", "keep_alive"):
            data[kind] = Tally(**data[kind])
        return cls(**data)


class Traffic:
    """`threads` threads, half of each kind (at least one each), at `rate` requests/s in all."""

    def __init__(self, url: str, *, expected_body: bytes, rate: float, threads: int = 4) -> None:
        check_target(url)
        if not 0 < rate <= MAX_RATE:
            raise TrafficError(f"--rate must be above 0 and at most {MAX_RATE:g}, not {rate:g}")
        if threads < 2:
            raise TrafficError(f"--threads must be at least 2 (one of each kind), not {threads}")
        parts = urlsplit(url)
        self._address = (parts.hostname or "", parts.port or 80)
        self._path = parts.path or "/"
        self._expected = expected_body
        self._interval = threads / rate
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._stopped: float | None = None
        self.report = TrafficReport(url, rate, 0.0, Tally(), Tally(), 0)
        fresh = threads // 2
        self._threads = [
            threading.Thread(target=self._run, args=(n < fresh, n), daemon=True)
            for n in range(threads)
        ]

    def start(self) -> None:
        self._start = time.monotonic()
        for thread in self._threads:
            thread.start()

    def all_answered_once(self) -> bool:
        with self._lock:
            return self.report.new_connections.answered > 0 and self.report.keep_alive.answered > 0

    def stop(self) -> TrafficReport:
        """Send no more; wait for the requests in flight (each ends by its timeout)."""
        self._stop.set()
        self._stopped = time.monotonic()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_S * 2 + 1)
        self.report.seconds = round(self._stopped - self._start, 2)
        return self.report

    def _run(self, fresh: bool, offset: int) -> None:
        tally = self.report.new_connections if fresh else self.report.keep_alive
        # Threads start spread over one interval, so the total rate is even.
        next_at = self._start + self._interval * offset / len(self._threads)
        connection: http.client.HTTPConnection | None = None
        while not self._stop.wait(max(next_at - time.monotonic(), 0)):
            next_at += self._interval
            if connection is None:
                connection = http.client.HTTPConnection(*self._address, timeout=REQUEST_TIMEOUT_S)
            failure, closed = self._one_request(connection, fresh)
            with self._lock:
                tally.sent += 1
                if failure is None:
                    tally.answered += 1
                else:
                    at = time.monotonic() - self._start
                    tally.failures.append(f"{at:.2f} s: {failure}")
                if closed and not fresh and failure is None:
                    self.report.reconnects += 1
            if closed or fresh:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    def _one_request(
        self, connection: http.client.HTTPConnection, fresh: bool
    ) -> tuple[str | None, bool]:
        """(None or why the request failed, whether its connection is done)."""
        headers = {"Connection": "close"} if fresh else {}
        return get_once(connection, self._path, self._expected, headers)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.traffic.client",
        description="Steady, bounded load on URL until SIGTERM; prints a JSON report.",
    )
    parser.add_argument("url")
    parser.add_argument("--expect", default="Hello World!", help="the body of a good answer")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second in all")
    parser.add_argument("--threads", type=int, default=4, help="client threads, half of each kind")
    parser.add_argument("--max-seconds", type=float, default=300.0, help=f"at most {MAX_SECONDS:g}")
    parser.add_argument("--start-timeout", type=float, default=15.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not 0 < args.max_seconds <= MAX_SECONDS:
        print(f"error: --max-seconds must be in (0, {MAX_SECONDS:g}]", file=sys.stderr)
        return 2
    try:
        traffic = Traffic(
            args.url, expected_body=args.expect.encode(), rate=args.rate, threads=args.threads
        )
    except TrafficError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    traffic.start()
    deadline = time.monotonic() + args.start_timeout
    while not traffic.all_answered_once():
        if time.monotonic() > deadline or stop.is_set():
            report = traffic.stop()
            print(
                f"error: no answer from {args.url} on both kinds of connection within "
                f"{args.start_timeout:g} s",
                file=sys.stderr,
            )
            print(json.dumps(asdict(report)), flush=True)
            return 1
        time.sleep(0.05)
    print("sending", flush=True)
    stop.wait(args.max_seconds)
    print(json.dumps(asdict(traffic.stop())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
