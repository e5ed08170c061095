"""One run at a time on a release: a Kubernetes Lease in the release's namespace.

Two runs of the scripts on one release would fight: two hand-overs scale the same workloads,
a second `helm upgrade` meets the first one's pending release. So every command that changes
a release first takes the Lease `<release>-dfa-run` (coordination.k8s.io, in the namespace:
nothing beyond the operator Role). Its holderIdentity says who holds it: the cluster user,
the login and host, the process and the command line; `acquireTime` says since when.

The holder renews it every RENEW_S while it runs and deletes it when it ends, however it
ends. A holder that died (SIGKILL, a lost machine) stops renewing: its Lease expires
LEASE_S after the last renewal, and the next run takes it over. A holder on this same host
whose process is gone is known dead at once. The Lease lives on the cluster, not in a local
file, so runs from different machines see each other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.core.objects import Obj
from harness.core.proc import CommandError
from harness.core.retry import WaitTimeout, wait_for
from harness.ops import cli
from harness.ops.kubectl import Kubectl

LEASE_S = 30
RENEW_S = 10.0
POLL_S = 1.0
SUFFIX = "-dfa-run"


class Busy(cli.OperatorError):
    """Another run holds the release."""

    exit_code = cli.Exit.BUSY


@dataclass(frozen=True)
class Holder:
    """Who holds a Lease, as its holderIdentity spells it (one JSON object)."""

    user: str
    login: str
    host: str
    pid: int
    command: str

    def text(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def __str__(self) -> str:
        return f"{self.user} ({self.login}@{self.host}, pid {self.pid}: {self.command})"

    def is_dead_here(self) -> bool:
        """Whether this holder ran on this host and its process is gone."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def cluster_user(kubectl: Kubectl) -> str:
    """The user the API server knows the kubeconfig's identity as."""
    try:
        review = json.loads(kubectl("auth", "whoami", "--output", "json"))
        return review["status"]["userInfo"]["username"]
    except (CommandError, ValueError, KeyError):
        return "unknown user"


class ReleaseLock:
    """The Lease that lets one run at a time change `release` (module doc)."""

    def __init__(self, kubectl: Kubectl, release: str, command: str) -> None:
        self.kubectl = kubectl
        self.name = f"{release}{SUFFIX}"
        self.release = release
        self.holder = Holder(
            user=cluster_user(kubectl),
            login=getpass.getuser(),
            host=socket.gethostname(),
            pid=os.getpid(),
            command=command,
        )
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.taken_over: tuple[Holder | None, str] | None = None

    def _lease(self, resource_version: str | None = None) -> Obj:
        now = _stamp(_now())
        metadata: dict[str, object] = {"name": self.name, "namespace": self.kubectl.namespace}
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.holder.text(),
                "leaseDurationSeconds": LEASE_S,
                "acquireTime": now,
                "renewTime": now,
            },
        }

    def _try_take(self) -> str | None:
        """Take the Lease if it is free or its holder is gone; else say who holds it."""
        existing = self.kubectl.get(f"lease/{self.name}")
        try:
            if existing is None:
                self.kubectl("create", "--filename", "-", input=json.dumps(self._lease()))
                return None
            spec = existing["spec"]
            holder = Holder.parse(spec.get("holderIdentity", ""))
            renewed = _parse(spec.get("renewTime") or spec["acquireTime"])
            age = (_now() - renewed).total_seconds()
            alive = age < spec.get("leaseDurationSeconds", LEASE_S)
            if alive and not (holder is not None and holder.is_dead_here()):
                since = spec.get("acquireTime", "")
                return (
                    f"{holder or spec.get('holderIdentity')} holds release {self.release} "
                    f"since {since} (lease/{self.name}, renewed {age:.0f} s ago; it expires "
                    f"{LEASE_S} s after its last renewal if that run is gone)"
                )
            # Replace, not delete and create: the resourceVersion makes the take-over fail
            # if another run took the Lease first.
            version = existing["metadata"]["resourceVersion"]
            self.kubectl("replace", "--filename", "-", input=json.dumps(self._lease(version)))
            self.taken_over = (holder, spec.get("acquireTime", ""))
            return None
        except CommandError as error:
            if "AlreadyExists" in error.stderr or "Conflict" in error.stderr:
                return "another run took the lease at the same moment"
            raise

    def acquire(self, wait_s: float) -> None:
        """Take the Lease, waiting up to `wait_s` for its holder; Busy naming it after that."""
        said: list[str] = []

        def taken() -> bool:
            held = self._try_take()
            if held and not said:
                print(f"waiting for the release: {held}", flush=True)
            if held:
                said[:] = [held]
            return held is None

        try:
            wait_for(taken, f"lease/{self.name}", wait_s, POLL_S, transient=())
        except WaitTimeout:
            raise Busy(
                f"{said[-1] if said else 'another run holds the release'}; wait for it, or "
                "rerun with a longer --wait-for-lock"
            ) from None
        if self.taken_over is not None:
            holder, since = self.taken_over
            print(
                f"took over lease/{self.name} from {holder or 'an unknown run'} (since {since}), "
                "which stopped renewing it",
                flush=True,
            )
        self._renewer = threading.Thread(target=self._renew, daemon=True)
        self._renewer.start()

    def left_by(self) -> str:
        """Who was at work on the release before this run: the run whose Lease this one took
        over, or, when it was free, a helm run outside these scripts."""
        if self.taken_over is None:
            return "a helm run outside these scripts (it held no lease)"
        holder, since = self.taken_over
        return f"{holder or 'an unknown run'}, which held the release since {since}"

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_S):
            with contextlib.suppress(CommandError, cli.OperatorError, ValueError):
                patch = {"spec": {"renewTime": _stamp(_now())}}
                self.kubectl("patch", f"lease/{self.name}", "--patch", json.dumps(patch))

    def release_lease(self) -> None:
        """Stop renewing and delete the Lease, if it is still this run's."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(RENEW_S)
        with contextlib.suppress(CommandError, cli.OperatorError, ValueError, KeyError):
            existing = self.kubectl.get(f"lease/{self.name}")
            if existing and existing["spec"].get("holderIdentity") == self.holder.text():
                self.kubectl("delete", f"lease/{self.name}", "--wait=false")


@contextlib.contextmanager
def holding(
    kubectl_path: Path,
    namespace: str,
    release: str,
    wait: str,
    command: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[ReleaseLock]:
    """Hold `release`'s Lease for the `with` block (module doc), as `command` (the command
    line that asked for it, shown to any other run)."""
    lock = ReleaseLock(Kubectl(kubectl_path, namespace, env), release, command)
    lock.acquire(cli.duration_seconds(wait))
    try:
        yield lock
    finally:
        lock.release_lease()
