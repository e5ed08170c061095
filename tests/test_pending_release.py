"""How a release's revision is read from and written back to helm's storage Secret. The e2e
suite marks a real pending revision failed (tests/e2e/test_interrupted_runs.py)."""

from __future__ import annotations

import base64
import gzip
import json

from harness.ops import lock, pending


def helm_secret(release: dict) -> dict:
    """A storage Secret as helm writes it: gzipped JSON, base64 in helm, base64 in the API."""
    helm_text = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {"data": {"release": base64.b64encode(helm_text).decode()}}


def test_a_stored_revision_reads_back_as_helm_wrote_it():
    release = {"name": "dummy-flask-app", "version": 2, "info": {"status": "pending-upgrade"}}
    assert pending.decode(helm_secret(release)) == release


def test_a_revision_written_back_reads_as_helm_would_read_it():
    release = {"name": "dummy-flask-app", "version": 2, "info": {"status": "failed"}}
    stored = {"data": {"release": pending.encode(release)}}
    helm_text = base64.b64decode(stored["data"]["release"])
    assert json.loads(gzip.decompress(base64.b64decode(helm_text))) == release


def test_a_lease_holder_reads_back_from_its_identity_text():
    holder = lock.Holder("opseng", "ops", "runner-7", 4242, "scripts/deploy -n opseng")
    assert lock.Holder.parse(holder.text()) == holder
    assert str(holder) == "opseng (ops@runner-7, pid 4242: scripts/deploy -n opseng)"
    assert lock.Holder.parse("someone else's controller") is None


def test_a_holder_on_another_host_is_never_taken_for_dead():
    holder = lock.Holder("opseng", "ops", "another-host", 1, "scripts/deploy")
    assert not holder.is_dead_here()
