"""The e2e suite's choice of cluster (tests/e2e/target.py), checked without a cluster."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.target import E2E_KUBECONFIG, existing_cluster


def test_a_kubeconfig_in_the_shell_leaves_the_e2e_suite_on_the_local_cluster(tmp_path: Path):
    unrelated = tmp_path / "someone-elses-cluster"
    unrelated.write_text("apiVersion: v1\nkind: Config\n")

    assert existing_cluster({"KUBECONFIG": str(unrelated)}) is None


def test_the_e2e_suite_uses_an_existing_cluster_only_when_its_own_variable_names_it(
    tmp_path: Path,
):
    environ = {"KUBECONFIG": str(tmp_path / "shell"), E2E_KUBECONFIG: str(tmp_path / "e2e")}

    assert existing_cluster(environ) == tmp_path / "e2e"


def test_an_empty_e2e_variable_means_the_local_cluster(tmp_path: Path):
    assert existing_cluster({E2E_KUBECONFIG: "", "KUBECONFIG": str(tmp_path / "shell")}) is None
