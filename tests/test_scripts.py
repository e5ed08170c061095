"""The operator scripts: what they would run, and how they refuse bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.chart.render import CI_VALUES_DIR, RenderError
from harness.core.tools import ROOT, tool_env, tool_path
from harness.ops import cli, deploy, image

IMAGE = "registry-qcc.quantil.com/oe-tools/dummy-flask-app"


def test_image_is_built_with_the_chart_app_version_by_default():
    [build] = image.build_commands(image.app_version())
    assert build[:2] == ["docker", "build"]
    assert f"{IMAGE}:1.5.0" in build
    assert "VERSION=1.5.0" in build
    assert build[-1] == str(ROOT)


def test_push_follows_the_build_with_the_same_tag():
    build, push = image.build_commands("1.6.0", push=True)
    assert f"{IMAGE}:1.6.0" in build
    assert push == ["docker", "push", f"{IMAGE}:1.6.0"]


def test_another_base_image_is_passed_as_a_build_argument():
    [build] = image.build_commands("1.5.0", base_image="local/python:3.11")
    assert "BASE_IMAGE=local/python:3.11" in build


@pytest.mark.parametrize("version", ["latest", "1.5", "v1.5.0", ""])
def test_image_version_must_be_semver(version):
    with pytest.raises(image.ImageError, match="--version"):
        image.build_commands(version)


def test_missing_docker_is_reported_by_name(tmp_path):
    with pytest.raises(image.ImageError, match="docker is not on PATH"):
        image.check_docker(path=str(tmp_path))


def test_push_without_a_registry_login_says_how_to_log_in(tmp_path):
    with pytest.raises(image.ImageError, match=r"docker login registry-qcc\.quantil\.com"):
        image.check_login("registry-qcc.quantil.com", {"DOCKER_CONFIG": str(tmp_path)})


def test_a_registry_login_satisfies_the_push_check(tmp_path):
    auths = {"auths": {"registry-qcc.quantil.com": {"auth": "eDp5"}}}
    (tmp_path / "config.json").write_text(json.dumps(auths))
    image.check_login("registry-qcc.quantil.com", {"DOCKER_CONFIG": str(tmp_path)})


def test_build_script_without_docker_fails_before_doing_anything(tmp_path):
    # A PATH holding only what the wrapper itself needs, so no docker can be found.
    for tool in ("bash", "dirname", "basename"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    done = subprocess.run(
        [shutil.which("bash"), ROOT / "scripts" / "build-image"],
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "docker is not on PATH" in done.stderr


def deploy_commands(**release):
    return deploy.commands(deploy.DeployRequest(**release), tool_path("helm"), tool_path("kubectl"))


def test_deploy_upgrades_with_wait_then_watches_the_deployment():
    upgrade, rollout = deploy_commands(set={"image.tag": "1.5.0"})
    assert upgrade[1:4] == ["upgrade", "dummy-flask-app", str(ROOT / "charts/dummy-flask-app")]
    assert {"--install", "--wait"} <= set(upgrade)
    assert "image.tag=1.5.0" in upgrade
    assert upgrade[upgrade.index("--namespace") + 1] == "opseng"
    assert rollout[-4:-2] == ["status", "deployment/dummy-flask-app"]


def test_deploy_watches_a_statefulset_when_the_values_render_one():
    values = CI_VALUES_DIR / "statefulset-ipool-values.yaml"
    upgrade, rollout = deploy_commands(values_files=(values,), namespace="staging")
    assert str(values) in upgrade
    assert rollout[-4:-2] == ["status", "statefulset/dummy-flask-app"]
    assert rollout[1:3] == ["--namespace", "staging"]


def test_deploy_refuses_bad_values_before_touching_the_cluster():
    with pytest.raises(RenderError, match="replicas"):
        deploy_commands(set={"replicas": "3"})


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1m30s", 90), ("1h", 3600), ("1.5s", 1.5)]
)
def test_durations_are_read_as_helm_reads_them(text, seconds):
    assert cli.duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "1m30", "ten minutes", "5d", "-1s"])
def test_a_duration_helm_would_refuse_is_refused(text):
    with pytest.raises(ValueError, match="not a duration like 90s"):
        cli.duration_seconds(text)


@pytest.mark.parametrize("version", ["v3.13.3", "v2.17.0"])
def test_a_helm_older_than_3_14_is_refused_with_what_to_do(version):
    with pytest.raises(cli.OperatorError, match=r"older than 3\.14.*make setup-scripts"):
        cli.check_helm(cli.Tool("helm", Path("/opt/helm"), version))


@pytest.mark.parametrize("version", ["v3.14.0", "v3.22.0", "v4.3.1"])
def test_helm_3_14_and_newer_are_accepted(version):
    assert cli.check_helm(cli.Tool("helm", Path("/opt/helm"), version)).version == version


def run_script(name: str, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [ROOT / "scripts" / name, *args],
        env={**(env or os.environ), "PATH": str(tool_env()["PATH"])},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


# The scripts that roll out, and so take --timeout and --stall-timeout.
ROLLOUT_SCRIPTS = [
    "deploy",
    "rollout-two-phase",
    "migrate-to-statefulset",
    "migrate-to-deployment",
    "adopt-unmanaged",
]


@pytest.mark.parametrize("script", [*ROLLOUT_SCRIPTS, "rollout-plan"])
def test_scripts_name_themselves_in_usage_and_errors(script):
    done = run_script(script, "--set", "noequals")
    assert done.returncode == cli.Exit.REFUSED
    assert done.stderr.strip().splitlines()[-1] == (
        f"scripts/{script}: error: --set takes KEY=VALUE, got 'noequals'"
    )
    assert f"usage: scripts/{script}" in run_script(script, "--help").stdout


@pytest.mark.parametrize("script", ROLLOUT_SCRIPTS)
def test_a_bad_timeout_is_one_line_naming_the_option(script):
    done = run_script(script, "--timeout", "1m30x")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"scripts/{script}: error: argument --timeout: '1m30x' is not a duration like 90s, 10m,"
        " 1m30s or 1h"
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("rollout-two-phase", ["ipool.enabled=false", "ipool.enabled=true"]),
        (
            "migrate-to-statefulset",
            ["apply --server-side", "workload.kind=StatefulSet", "rollout status statefulset"],
        ),
        (
            "migrate-to-deployment",
            ["apply --server-side", "workload.kind=Deployment", "rollout status deployment"],
        ),
    ],
)
def test_rollout_scripts_print_their_commands_on_a_dry_run(script, expected):
    done = run_script(script, "--dry-run", "-n", "staging", "--set", "image.tag=1.5.0")
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("+ ")]
    where = [
        next(i for i, command in enumerate(commands) if piece in command) for piece in expected
    ]
    assert where == sorted(where), f"{expected} not in this order in {commands}"
    assert all("--namespace staging" in command for command in commands)
    assert "done:" not in done.stdout, "a dry run claims nothing was rolled out"


@pytest.mark.parametrize("script", ["migrate-to-statefulset", "migrate-to-deployment"])
def test_a_hand_over_of_an_autoscaled_release_says_it_holds_the_autoscaler_back(script):
    """The pods that run move one at a time; the autoscaler would scale either workload
    meanwhile, so it is deleted for the hand-over and helm creates it again."""
    done = run_script(script, "--dry-run", "--set", "autoscaling.enabled=true")
    assert done.returncode == 0, done.stderr
    assert (
        "# the autoscaler dummy-flask-app is deleted for the hand-over, which moves the pods "
        in done.stdout
    )
    assert "--set autoscaling.enabled=true" in done.stdout


def test_a_missing_release_value_file_is_one_line_without_a_traceback():
    done = run_script("deploy", "--dry-run", "-f", "no-such-values.yaml")
    assert done.returncode == cli.Exit.REFUSED
    assert "Traceback" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if "error" in line]
    assert error.startswith("scripts/deploy: error: ")
    assert "no-such-values.yaml" in error


@pytest.mark.parametrize("script", ROLLOUT_SCRIPTS)
def test_a_cluster_that_does_not_answer_is_one_line_and_a_failure(script, tmp_path):
    """Nothing listens on port 1 of loopback: every script fails in one line, no traceback."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n"
        "clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]\n"
        "users: [{name: nobody, user: {token: not-a-secret}}]\n"
    )
    done = run_script(
        script,
        "-n",
        "staging",
        "--timeout",
        "20s",
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
    )

    assert done.returncode == cli.Exit.FAILED
    assert "Traceback" not in done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith(f"scripts/{script}: error: "), done.stderr
    assert "127.0.0.1:1" in error or "exited 1" in error, error


def test_a_value_is_read_as_helm_merges_files_then_set(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("workload:\n  switchKind: true\n")
    second.write_text("workload:\n  kind: StatefulSet\n")
    release = deploy.DeployRequest(values_files=(first, second))
    assert release.value("workload", "switchKind") is True, "a later file without it keeps it"
    assert release.value("workload", "kind") == "StatefulSet"
    assert release.value("ipool", "enabled") is None
    overridden = deploy.DeployRequest(values_files=(first,), set={"workload.switchKind": "false"})
    assert overridden.value("workload", "switchKind") == "false"
