"""A release left pending by a run that died, found and moved on from.

helm marks a release `pending-install`, `pending-upgrade` or `pending-rollback` while it
works and `deployed` or `failed` when it ends. A run killed in between (SIGKILL, an
OOM-killed shell, a lost CI runner) leaves it pending for good, and every later helm
command on it fails with "another operation (install/upgrade/rollback) is in progress";
helm itself never recovers it.

Called while holding the release's Lease (harness.ops.lock), so no run of these scripts is
at work on it, this does what Flux's helm-controller does: the stale revision is marked
`failed`, with a description saying by whom and why, and the history is kept; the upgrade
that follows then runs as after any failed one. That holds for a first install left
pending too (helm upgrades a release whose only revision failed), which keeps whatever it
had started, a hand-over's adopted pods among them. Uninstalling such a release instead,
pods and IPs first, is only done when asked (`--uninstall-pending`).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from pathlib import Path

from harness.core.objects import Obj
from harness.core.proc import CommandError, run
from harness.ops import cli
from harness.ops.kubectl import Kubectl

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
STORAGE = "sh.helm.release.v1"


def decode(secret: Obj) -> Obj:
    """The release helm keeps in its storage Secret: base64 of gzipped JSON."""
    packed = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    return json.loads(gzip.decompress(packed))


def encode(release: Obj) -> str:
    """`release` as the Secret's data value (the Kubernetes base64 of helm's base64)."""
    packed = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return base64.b64encode(packed).decode()


def pending_revision(kubectl: Kubectl, release: str) -> Obj | None:
    """The storage Secret of `release`'s latest revision when that revision is pending."""
    secrets = kubectl.items("secrets", "--selector", f"owner=helm,name={release}")
    if not secrets:
        return None
    latest = max(secrets, key=lambda s: int(s["metadata"]["labels"].get("version", "0")))
    return latest if latest["metadata"]["labels"].get("status") in PENDING else None


def recover(
    kubectl: Kubectl,
    helm: Path,
    release: str,
    left_by: str,
    uninstall_pending: bool = False,
    dry_run: bool = False,
) -> None:
    """Move `release` out of a stale pending state (module doc); nothing when it is not
    pending. `left_by` says who left it, for the message and the revision's description."""
    secret = pending_revision(kubectl, release)
    if secret is None:
        return
    labels = secret["metadata"]["labels"]
    status, revision = labels["status"], int(labels["version"])
    stored = decode(secret)
    since = stored.get("info", {}).get("last_deployed", "an unknown time")
    print(
        f"release {release} revision {revision} is {status} since {since}, left by {left_by};"
        " no run of these scripts holds it",
        flush=True,
    )
    if status == "pending-install" and revision == 1 and uninstall_pending:
        command = [str(helm), "uninstall", release, "--namespace", kubectl.namespace, "--wait"]
        print("+", " ".join(command), flush=True)
        if not dry_run:
            _run(command, kubectl)
        return
    note = (
        f"{status} left by {left_by}; marked failed by {cli.prog('harness.ops')} at "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ} so that the release can be upgraded"
    )
    print(f"+ mark revision {revision} failed: {note}", flush=True)
    if dry_run:
        return
    stored["info"]["status"] = "failed"
    stored["info"]["description"] = note
    patch = {"metadata": {"labels": {"status": "failed"}}, "data": {"release": encode(stored)}}
    # The resourceVersion makes the patch fail if helm itself changed the revision meanwhile.
    patch["metadata"]["resourceVersion"] = secret["metadata"]["resourceVersion"]
    kubectl("patch", f"secret/{secret['metadata']['name']}", "--patch", json.dumps(patch))


def _run(command: list[str], kubectl: Kubectl) -> None:
    try:
        run(command, env=None if kubectl.env is None else dict(kubectl.env))
    except CommandError as error:
        raise cli.forbidden(error) or error from None
