"""An operator whose only rights are scripts/operator-rbac.yaml's Role in their namespace, as
the write-up's operators hold (a client certificate signed by the cluster's CA): the release's
whole life works for them, and what they may not do is refused at once, by name.

The same identity runs every ipool rehearsal's scripts (two-phase, both hand-overs, both
adoptions: tests/e2e/test_ipool_rollouts.py) and the stall detection
(tests/e2e/test_deploy_stalls.py).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
import yaml

from harness.core.proc import run
from harness.core.tools import ROOT, tool_path
from harness.kube.client import Kube
from harness.kube.identity import Operator
from harness.ops import cli
from tests.e2e.release import ReleaseUnderTest

pytestmark = pytest.mark.e2e


def as_operator(kube: Kube, operator: Operator, *command: str, timeout: float = 600):
    done = run(command, env=operator.env(kube), check=False, timeout=timeout)
    print(f"\n$ {' '.join(command)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def in_a_context_of_its_own(operator: Operator, namespace: str, folder: Path) -> Path:
    """The operator's kubeconfig with a second context, `work`, whose namespace is
    `namespace` (the current context names none)."""
    config = yaml.safe_load(operator.kubeconfig.read_text())
    [context] = config["contexts"]
    config["contexts"].append(
        {"name": "work", "context": {**context["context"], "namespace": namespace}}
    )
    written = folder / "operator-work.kubeconfig"
    written.write_text(yaml.safe_dump(config))
    written.chmod(0o600)
    return written


def test_a_namespace_operator_installs_upgrades_tests_and_rolls_back_the_release(
    kube: Kube,
    operator: Operator,
    operator_namespace: str,
    release: ReleaseUnderTest,
    tmp_path: Path,
):
    deploy = [str(ROOT / "scripts" / "deploy"), "-n", operator_namespace, "--timeout", "3m"]
    deploy += ["--set", "replicaCount=2"]
    helm = [str(tool_path("helm")), "--namespace", operator_namespace]

    # As helm: --kubeconfig and --kube-context choose the cluster and identity over
    # KUBECONFIG (the admin's, here), and without -n the context's namespace is the release's.
    chosen = in_a_context_of_its_own(operator, operator_namespace, tmp_path)
    first = [str(ROOT / "scripts" / "deploy"), "--kubeconfig", str(chosen), "--kube-context"]
    first += ["work", "--timeout", "3m", "--set", "replicaCount=2", "--set", "image.tag=1.0.0"]
    installed = run(first, env=kube.env(), check=False, timeout=600)
    assert installed.returncode == 0, installed.stderr
    assert len(release.settled_pods("1.0.0", 2)) == 2
    upgraded = as_operator(kube, operator, *deploy, "--set", "image.tag=1.5.0")
    assert upgraded.returncode == 0
    assert len(release.settled_pods("1.5.0", 2)) == 2

    tested = as_operator(kube, operator, *helm, "test", release.name, "--logs")
    assert tested.returncode == 0
    assert "Succeeded" in tested.stdout
    rolled_back = as_operator(
        kube, operator, *helm, "rollback", release.name, "1", "--wait", "--timeout", "3m"
    )
    assert rolled_back.returncode == 0
    assert len(release.settled_pods("1.0.0", 2)) == 2

    plan = as_operator(kube, operator, str(ROOT / "scripts" / "rollout-plan"), "-n", "opseng")
    assert plan.returncode == 0 and "peak pods:" in plan.stdout


@pytest.mark.parametrize("where", ["a namespace without the Role", "a missing namespace"])
def test_a_namespace_the_operator_has_no_rights_in_is_refused_at_once_by_name(
    kube: Kube, operator: Operator, namespace: str, where: str
):
    missing = where == "a missing namespace"
    target = f"e2e-missing-{secrets.token_hex(3)}" if missing else namespace
    began = time.monotonic()
    done = as_operator(
        kube, operator, str(ROOT / "scripts" / "deploy"), "-n", target, "--set", "image.tag=1.5.0"
    )
    took = time.monotonic() - began

    assert done.returncode == cli.Exit.FORBIDDEN
    assert "Traceback" not in done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert error == (
        f"scripts/deploy: error: forbidden: this identity has no rights in namespace {target},"
        " which may not exist either; a cluster admin creates it (kubectl create namespace"
        f" {target}) and applies scripts/operator-rbac.yaml there"
    )
    assert took < 30, "a refusal is reported, not waited out"
    exists = kube.kubectl("get", "namespace", target, "--ignore-not-found", "--output", "name")
    assert bool(exists) != missing, "the script created no namespace"
    if not missing:
        made = kube.objects("deployments,statefulsets,services,secrets", target)
        assert [o["metadata"]["name"] for o in made] == ["myregistrykey"], (
            "nothing but the pull secret the namespace came with"
        )
