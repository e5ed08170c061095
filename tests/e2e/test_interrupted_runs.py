"""Runs that die or meet each other: a deploy or an adoption killed mid-way is finished by the
same command run again, and a second run on a release that one holds stops at once, naming
the holder. (A hand-over killed half-way is rehearsed on a pool: test_ipool_rollouts.py.)

Real processes on the real node, as a namespace operator: the kill is SIGKILL to the
script's whole process group (helm included), as when a CI runner is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence

import pytest
import yaml

from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import ROOT
from harness.ipool.scenarios import WRITEUP_MANIFEST as WRITEUP_DEPLOYMENT
from harness.kube.client import Kube
from harness.kube.identity import Operator
from harness.ops import cli
from tests.e2e.release import ReleaseUnderTest

pytestmark = pytest.mark.e2e

STATE_TIMEOUT_S = 120.0


def start(kube: Kube, operator: Operator, command: Sequence[str]) -> subprocess.Popen[str]:
    """`command` as a process group of its own, so that a kill reaches helm too."""
    return subprocess.Popen(
        list(command),
        env=operator.env(kube),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def revision_statuses(kube: Kube, namespace: str, release: str) -> list[str]:
    """The status of each stored revision, oldest first, as helm's storage labels say."""
    secrets = kube.objects("secrets", namespace, f"owner=helm,name={release}")
    ordered = sorted(secrets, key=lambda s: int(s["metadata"]["labels"]["version"]))
    return [s["metadata"]["labels"]["status"] for s in ordered]


def installed_then_upgrade(kube: Kube, operator: Operator, ns: str, replicas: int) -> list[str]:
    """Install 1.0.0 with scripts/deploy as `operator`; the command that upgrades to 1.5.0."""
    deploy = [str(ROOT / "scripts" / "deploy"), "-n", ns, "--timeout", "3m"]
    deploy += ["--set", f"replicaCount={replicas}"]
    installed = run([*deploy, "--set", "image.tag=1.0.0"], env=operator.env(kube), check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return [*deploy, "--set", "image.tag=1.5.0"]


def test_a_deploy_killed_mid_rollout_is_finished_by_the_same_command_and_a_second_run_waits(
    kube: Kube, operator: Operator, operator_namespace: str, release: ReleaseUnderTest
):
    ns = operator_namespace
    upgrade = installed_then_upgrade(kube, operator, ns, replicas=2)
    first = start(kube, operator, upgrade)
    try:
        wait_for(
            lambda: revision_statuses(kube, ns, release.name)[-1:] == ["pending-upgrade"],
            "helm to mark the upgrade pending",
            STATE_TIMEOUT_S,
            interval=0.2,
        )
        second = run(upgrade, env=operator.env(kube), check=False, timeout=60)
        print(f"\nthe second run said: {second.stderr.strip().splitlines()[-1]}")
        assert second.returncode == cli.Exit.BUSY
        assert '"user":"e2e-operator"' not in second.stderr, "the holder is named, not dumped"
        assert "holds release dummy-flask-app since" in second.stderr
        assert f"pid {first.pid}" in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    assert revision_statuses(kube, ns, release.name)[-1] == "pending-upgrade"

    rerun = run(upgrade, env=operator.env(kube), check=False, timeout=400)
    print(rerun.stdout[-3000:], rerun.stderr[-2000:])
    assert rerun.returncode == 0
    assert "revision 2 is pending-upgrade" in rerun.stdout
    assert f"pid {first.pid}" in rerun.stdout, "the rerun says whose run it moves on from"
    assert len(release.settled_pods("1.5.0", 2)) == 2

    history = json.loads(release.helm("history", release.name, "--output", "json"))
    assert [r["status"] for r in history] == ["superseded", "failed", "deployed"]
    assert history[1]["description"].startswith("pending-upgrade left by e2e-operator")
    assert not kube.objects("leases", ns), "the run let go of the release"


def test_sigterm_stops_deploy_and_its_helm_which_marks_the_release_failed(
    kube: Kube, operator: Operator, operator_namespace: str, release: ReleaseUnderTest
):
    """SIGTERM to the script alone (as a CI runner's cancel sends it): the script passes it
    to helm, which records the upgrade as failed rather than leaving it pending."""
    ns = operator_namespace
    upgrade = installed_then_upgrade(kube, operator, ns, replicas=1)
    stopped = start(kube, operator, upgrade)
    wait_for(
        lambda: revision_statuses(kube, ns, release.name)[-1:] == ["pending-upgrade"],
        "helm to mark the upgrade pending",
        STATE_TIMEOUT_S,
        interval=0.2,
    )
    stopped.send_signal(signal.SIGTERM)
    output, _ = stopped.communicate(timeout=60)
    print(output[-2000:])

    assert stopped.returncode == cli.Exit.INTERRUPTED
    assert output.strip().splitlines()[-1] == (
        "scripts/deploy: interrupted by SIGTERM; rerun the same command to go on"
    )
    assert revision_statuses(kube, ns, release.name) == ["deployed", "failed"]
    assert not kube.objects("leases", ns), "the run let go of the release"
    rerun = run(upgrade, env=operator.env(kube), check=False, timeout=400)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "pending" not in rerun.stdout, "nothing was left pending to move on from"
    assert len(release.settled_pods("1.5.0", 1)) == 1


def kill_at(process: subprocess.Popen[str], line: str, timeout: float = 300) -> list[str]:
    """Read `process`'s output until a line starts with `line`, then SIGKILL its whole
    process group; the lines read."""
    assert process.stdout is not None
    seen: list[str] = []
    began = time.monotonic()
    for text in process.stdout:
        seen.append(text.rstrip())
        if text.startswith(line) or time.monotonic() - began > timeout:
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    print("\n".join(["", f"killed at {line!r} after:", *seen[-8:]]))
    assert seen and seen[-1].startswith(line), f"never reached {line!r}"
    return seen


def test_an_adoption_killed_while_helm_adopts_is_finished_by_the_same_command(
    kube: Kube, operator: Operator, operator_namespace: str, release: ReleaseUnderTest
):
    ns = operator_namespace
    writeup = yaml.safe_load(WRITEUP_DEPLOYMENT.read_text())
    writeup["metadata"]["namespace"] = ns
    writeup["spec"]["replicas"] = 2  # scaled by its operator, off the chart's default of 3
    kube.kubectl("apply", "-f", "-", input=yaml.safe_dump(writeup))
    kube.kubectl("rollout", "status", "deployment/dummy-flask-app", "-n", ns, "--timeout=3m")

    adopt = [str(ROOT / "scripts" / "adopt-unmanaged"), "-n", ns, "--yes", "--timeout", "3m"]
    adopt += ["--to", "StatefulSet", "--set", "image.tag=1.0.0"]
    kill_at(start(kube, operator, adopt), "== helm adopts")

    rerun = run(adopt, env=operator.env(kube), check=False, timeout=600)
    print(rerun.stdout[-3000:], rerun.stderr[-2000:])
    assert rerun.returncode == 0
    assert "done: release dummy-flask-app runs the app" in rerun.stdout
    assert "keeping the 2 pods deployment/dummy-flask-app runs (the values say 3)" in rerun.stdout
    assert kube.get("deployment", "dummy-flask-app", ns) is None, "the write-up's is gone"
    assert [w["kind"] for w in release.workloads()] == ["StatefulSet"]
    assert len(release.settled_pods("1.0.0", 2)) == 2
    history = json.loads(release.helm("history", release.name, "--output", "json"))
    assert history[-1]["status"] == "deployed"
