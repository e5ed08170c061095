"""The scripts take the options an operator reaches for in helm: the kube context and its
namespace, --set-string and --set-file, a chart and its version, -o json, a confirmation
before deleting, and a --timeout for the whole run. Real helm and kubectl, no cluster."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.chart.signing import make_key
from harness.core.proc import run
from harness.core.tools import ROOT, tool_path
from harness.ops import cli, deploy, kubeconfig
from harness.ops.chartref import chart_version
from tests.support.signing import change_after_signing
from tests.test_scripts import run_script


def write_kubeconfig(path: Path, current: str, namespaces: dict[str, str | None]) -> Path:
    """A kubeconfig with one context per entry of `namespaces` (its namespace, or none)."""
    contexts = [
        {
            "name": name,
            "context": {"cluster": "c", "user": "u", **({"namespace": ns} if ns else {})},
        }
        for name, ns in namespaces.items()
    ]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": contexts,
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def two_contexts(tmp_path: Path) -> Path:
    return write_kubeconfig(
        tmp_path / "config", "team-a", {"team-a": "payments", "team-b": "search", "bare": None}
    )


def dry_run_namespaces(script: str, *args: str, kubeconfig_env: Path) -> set[str]:
    done = run_script(
        script, "--dry-run", *args, env={**os.environ, "KUBECONFIG": str(kubeconfig_env)}
    )
    assert done.returncode == 0, done.stderr
    commands = [line.split() for line in done.stdout.splitlines() if line.startswith("+ ")]
    return {c[c.index("--namespace") + 1] for c in commands if "--namespace" in c}


def test_without_n_the_scripts_use_the_namespace_of_the_current_context(two_contexts):
    assert dry_run_namespaces("deploy", kubeconfig_env=two_contexts) == {"payments"}


def test_kube_context_picks_another_context_and_its_namespace(two_contexts):
    namespaces = dry_run_namespaces(
        "rollout-two-phase", "--kube-context", "team-b", kubeconfig_env=two_contexts
    )
    assert namespaces == {"search"}


def test_n_wins_over_the_contexts_namespace(two_contexts):
    namespaces = dry_run_namespaces("deploy", "-n", "opseng", kubeconfig_env=two_contexts)
    assert namespaces == {"opseng"}


def test_a_context_without_a_namespace_means_default_as_for_helm(two_contexts):
    namespaces = dry_run_namespaces("deploy", "--kube-context", "bare", kubeconfig_env=two_contexts)
    assert namespaces == {"default"}


def test_kubeconfig_wins_over_the_kubeconfig_environment_variable(two_contexts, tmp_path):
    other = write_kubeconfig(tmp_path / "other", "ops", {"ops": "ops-ns"})
    namespaces = dry_run_namespaces(
        "deploy", "--kubeconfig", str(other), kubeconfig_env=two_contexts
    )
    assert namespaces == {"ops-ns"}


def test_an_unknown_context_is_refused_naming_the_ones_there(two_contexts):
    done = run_script(
        "deploy",
        "--kube-context",
        "team-c",
        "--dry-run",
        env={**os.environ, "KUBECONFIG": str(two_contexts)},
    )
    assert done.returncode == cli.Exit.REFUSED
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "--kube-context team-c: no such context in "
            f"{two_contexts}; its contexts: bare, team-a, team-b"
        )
    )


def test_a_missing_kubeconfig_file_is_refused_by_name(tmp_path):
    done = run_script("rollout-plan", "--kubeconfig", str(tmp_path / "nope"))
    assert done.returncode == cli.Exit.REFUSED
    assert done.stderr.strip().endswith(f"--kubeconfig {tmp_path / 'nope'}: no such file")


def test_kubectl_and_helm_see_the_chosen_context_and_the_environment_is_put_back(two_contexts):
    before = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(two_contexts)
    try:
        with kubeconfig.selected(None, context="team-b") as namespace:
            kubectl = [str(tool_path("kubectl")), "config", "current-context"]
            helm = [str(tool_path("helm")), "env"]
            assert run(kubectl).stdout.strip() == "team-b"
            assert 'HELM_NAMESPACE="search"' in run(helm).stdout
            assert namespace == "search"
            chosen = os.environ["KUBECONFIG"]
        assert os.environ["KUBECONFIG"] == str(two_contexts) != chosen
    finally:
        if before is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = before


def test_set_string_and_set_file_reach_helm_after_set_in_helms_order(tmp_path):
    note = tmp_path / "tag.txt"
    note.write_text("1.5.0")
    done = run_script(
        "deploy",
        "--dry-run",
        "-n",
        "opseng",
        "--set",
        "image.tag=1.0.0",
        "--set-string",
        "image.tag=2",
        "--set-file",
        f"image.tag={note}",
    )
    assert done.returncode == 0, done.stderr
    upgrade = next(line for line in done.stdout.splitlines() if " upgrade " in line).split()
    flags = [(flag, upgrade[i + 1]) for i, flag in enumerate(upgrade) if flag.startswith("--set")]
    assert flags == [
        ("--set", "image.tag=1.0.0"),
        ("--set-string", "image.tag=2"),
        ("--set-file", f"image.tag={note}"),
    ]


def test_a_value_is_read_as_helm_merges_set_then_set_string_then_set_file(tmp_path):
    kind = tmp_path / "kind.txt"
    kind.write_text("StatefulSet")
    release = deploy.DeployRequest(set={"workload.kind": "Deployment"})
    assert release.value("workload", "kind") == "Deployment"
    stringly = deploy.DeployRequest(set={"replicaCount": "3"}, set_string={"replicaCount": "4"})
    assert stringly.value("replicaCount") == "4"
    from_file = deploy.DeployRequest(
        set_string={"workload.kind": "Deployment"}, set_file={"workload.kind": str(kind)}
    )
    assert from_file.value("workload", "kind") == "StatefulSet"
    assert from_file.manifests(tool_path("helm")).workload["kind"] == "StatefulSet"


def test_a_numeric_tag_given_with_set_string_stays_a_string():
    rendered = deploy.DeployRequest(set_string={"image.tag": "2"}).manifests(tool_path("helm"))
    assert rendered.app_container["image"].endswith(":2")


def test_a_packaged_chart_is_installed_from_its_file(tmp_path):
    run([str(tool_path("helm")), "package", str(ROOT / "charts/dummy-flask-app"), "-d", tmp_path])
    [package] = tmp_path.glob("dummy-flask-app-*.tgz")
    done = run_script("deploy", "--dry-run", "-n", "opseng", "--chart", str(package))
    assert done.returncode == 0, done.stderr
    upgrade = next(line for line in done.stdout.splitlines() if " upgrade " in line).split()
    assert upgrade[upgrade.index("upgrade") + 2] == str(package)


def test_a_version_that_the_chart_directory_is_not_is_refused_saying_how():
    done = run_script("deploy", "--dry-run", "--version", "0.1.0")
    assert done.returncode == cli.Exit.REFUSED
    assert "--version 0.1.0: the chart in" in done.stderr
    assert "give --chart REPO/NAME or oci://… with it" in done.stderr


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The chart packaged four ways (signed; changed after signing; signed by another key;
    unsigned) and the release key's public keyring ("keyring")."""
    work = tmp_path_factory.mktemp("signed")
    secret, public = make_key(work / "release-key", "release@example.invalid")
    stranger, _ = make_key(work / "stranger-key", "stranger@example.invalid")
    chart = ROOT / "charts" / "dummy-flask-app"
    made = {"keyring": public}
    for name, key, keyring in (
        ("signed", "release@example.invalid", secret),
        ("changed", "release@example.invalid", secret),
        ("stranger", "stranger@example.invalid", stranger),
        ("unsigned", None, None),
    ):
        sign = ["--sign", "--key", key, "--keyring", str(keyring)] if key else []
        run([str(tool_path("helm")), "package", str(chart), *sign, "-d", str(work / name)])
        [made[name]] = (work / name).glob("*.tgz")
    change_after_signing(made["changed"])
    return made


def _deploy_verified(package: Path, keyring: Path):
    return run_script(
        "deploy",
        "--dry-run",
        "-n",
        "opseng",
        "--chart",
        str(package),
        "--verify",
        "--keyring",
        str(keyring),
    )


def test_a_packaged_chart_signed_by_a_key_of_the_keyring_passes_verify(signed):
    done = _deploy_verified(signed["signed"], signed["keyring"])
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "variant, reason",
    [
        ("changed", "it was changed after it was signed"),
        ("stranger", "it is signed by a key that is not in --keyring"),
        ("unsigned", "it has no provenance file (.prov): nobody signed it"),
    ],
)
def test_a_packaged_chart_that_fails_verify_is_refused_in_one_line(signed, variant, reason):
    done = _deploy_verified(signed[variant], signed["keyring"])
    assert done.returncode == cli.Exit.REFUSED, done.stderr
    [error] = [line for line in done.stderr.splitlines() if "error:" in line]
    assert f"--verify: {signed[variant]} fails verification against" in error
    assert reason in error


def test_a_keyring_without_verify_is_refused_rather_than_ignored(signed):
    done = run_script("deploy", "--dry-run", "--keyring", str(signed["keyring"]))
    assert done.returncode == cli.Exit.REFUSED
    assert "is read only with --verify; add --verify" in done.stderr


def test_verify_of_a_chart_directory_is_refused_since_nothing_signs_a_directory():
    done = run_script("deploy", "--dry-run", "--verify")
    assert done.returncode == cli.Exit.REFUSED
    assert "carries no signature; give a packaged chart" in done.stderr


def test_a_cosign_key_for_a_chart_not_in_an_oci_registry_is_refused(tmp_path):
    public = tmp_path / "cosign.pub"
    public.write_text("a key")
    done = run_script("deploy", "--dry-run", "--cosign-key", str(public))
    assert done.returncode == cli.Exit.REFUSED
    assert "cosign signs a chart in an OCI registry; give --chart oci://…" in done.stderr


def test_a_cosign_key_that_is_not_a_file_is_refused_by_name(tmp_path):
    missing = tmp_path / "cosign.pub"
    done = run_script("deploy", "--chart", "oci://127.0.0.1:1/c/x", "--cosign-key", str(missing))
    assert done.returncode == cli.Exit.REFUSED
    assert f"--cosign-key: {missing} is not a file" in done.stderr


def test_a_chart_reference_that_is_nothing_helm_can_fetch_is_refused():
    done = run_script("rollout-plan", "--chart", "no-such-chart")
    assert done.returncode == cli.Exit.REFUSED
    assert "--chart no-such-chart: neither a chart directory, nor a .tgz" in done.stderr


def plan_json(*args: str) -> tuple[int, dict]:
    done = run_script("rollout-plan", "-o", "json", *args)
    return done.returncode, json.loads(done.stdout)


def test_rollout_plan_prints_json_that_says_whether_the_pool_suffices():
    code, plan = plan_json("-f", "charts/dummy-flask-app/ci/deployment-ipool-values.yaml")
    assert code == cli.Exit.OK
    assert plan["configured"] == "Deployment" and plan["poolSuffices"] is True
    [deployment] = [p for p in plan["plans"] if p["kind"] == "Deployment"]
    assert (deployment["peakIPs"], deployment["poolSize"]) == (4, 4)


def test_rollout_plan_exits_2_with_the_json_when_the_pool_cannot_hold_the_rollout():
    code, plan = plan_json("--set", "ipool.enabled=true", "--set", "strategy.type=RollingUpdate")
    assert code == cli.Exit.REFUSED
    assert plan["configured"] is None and plan["poolSuffices"] is None
    [deployment] = [p for p in plan["plans"] if p["kind"] == "Deployment"]
    assert "the pool holds 3 IPs" in deployment["refused"]
    [statefulset] = [p for p in plan["plans"] if p["kind"] == "StatefulSet"]
    assert statefulset["poolSuffices"] is True


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer", ["y\n", "yes\n", "Y\n"])
def test_a_yes_at_the_terminal_lets_the_deletion_go_on(monkeypatch, answer):
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    cli.confirm("scripts/x", ["deployment/a"], yes=False)


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", ""])
def test_anything_but_yes_at_the_terminal_changes_nothing(monkeypatch, answer):
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    with pytest.raises(cli.Refused, match="not confirmed; nothing was changed"):
        cli.confirm("scripts/x", ["deployment/a"], yes=False)


def test_without_a_terminal_a_deletion_needs_yes(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    with pytest.raises(cli.Refused, match=r"this deletes deployment/a; give --yes to go ahead"):
        cli.confirm("scripts/x", ["deployment/a"], yes=False)
    cli.confirm("scripts/x", ["deployment/a"], yes=True)


@pytest.mark.parametrize(
    ("script", "deleted"),
    [
        ("migrate-to-statefulset", "the Deployment (at 0 replicas)"),
        ("migrate-to-deployment", "the StatefulSet (at 0 replicas)"),
        ("adopt-unmanaged", "the hand-made workload dummy-flask-app"),
    ],
)
def test_scripts_that_delete_say_what_in_their_help_and_take_yes(script, deleted):
    help_text = " ".join(run_script(script, "--help").stdout.split()).replace("- ", "-")
    assert f"--yes, -y delete without asking: {deleted}" in help_text


def test_scripts_that_delete_nothing_take_no_yes():
    for script in ("deploy", "rollout-two-phase", "rollout-plan"):
        assert "--yes" not in run_script(script, "--help").stdout


def test_the_timeout_bounds_the_whole_run_and_helm_gets_what_is_left():
    now = [100.0]
    deadline = cli.Deadline.start("2m", clock=lambda: now[0])
    now[0] += 90.5
    assert deadline.left(clock=lambda: now[0]) == "30s"
    release = deploy.DeployRequest(deadline=cli.Deadline("2m", ends=0.0))
    with pytest.raises(deploy.DeployTimeout, match="ran out its --timeout 2m"):
        deploy.commands(release, tool_path("helm"), tool_path("kubectl"))


def test_a_command_still_running_when_the_run_is_out_of_time_is_stopped(tmp_path):
    spent = cli.Deadline("1s", ends=0.0)
    with pytest.raises(deploy.DeployTimeout, match="ran out its --timeout 1s"):
        deploy.execute([["sleep", "30"]], deadline=spent)


def test_the_old_adoption_name_still_runs_and_says_the_new_one():
    done = run_script("adopt-writeup", "--help")
    assert done.returncode == 0
    assert "--to {Deployment,StatefulSet}" in done.stdout
    assert (
        done.stderr == "scripts/adopt-writeup is now scripts/adopt-unmanaged; this name will go\n"
    )


@pytest.fixture
def checkout_without_venv(tmp_path: Path) -> Path:
    """This checkout's scripts, harness and chart, with no .tools next to them."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copytree(ROOT / "scripts", root / "scripts")
    for shared in ("harness", "charts", "requirements"):
        (root / shared).symlink_to(ROOT / shared)
    return root


def python_on_path(python: Path) -> dict[str, str]:
    """An environment whose `python3` is the one of the venv `python` is in, with helm and
    kubectl from .tools."""
    helm_kubectl = str(tool_path("helm").parent)
    folders = [str(python.parent), helm_kubectl, "/usr/bin", "/bin"]
    return {**os.environ, "PATH": os.pathsep.join(folders)}


def test_scripts_run_with_a_python_on_path_that_has_their_packages(checkout_without_venv, tmp_path):
    env = python_on_path(Path(sys.executable))  # the project's venv: it has the packages
    done = subprocess.run(
        [checkout_without_venv / "scripts" / "rollout-plan", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["configured"] == "Deployment"


def test_scripts_say_in_one_line_what_is_missing_and_how_to_install_it(
    checkout_without_venv, tmp_path
):
    bare = tmp_path / "bare"
    run([sys.executable, "-m", "venv", "--without-pip", str(bare)])
    env = python_on_path(bare / "bin" / "python3")
    done = subprocess.run(
        [checkout_without_venv / "scripts" / "deploy", "--help"],
        env={**env, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "scripts/deploy: error: missing yaml, jinja2; run `make setup-scripts` (a venv in"
        " .tools), or `python3 -m pip install -r"
        f" {checkout_without_venv}/requirements/scripts.txt`"
    ]


@pytest.fixture
def chart_repository(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A chart repository on 127.0.0.1 holding this chart as 0.0.1 and as its own version,
    added to a helm of its own as `local`; the environment the scripts then run in."""
    served = tmp_path / "repo"
    served.mkdir()
    helm = str(tool_path("helm"))
    old = tmp_path / "old" / "dummy-flask-app"
    shutil.copytree(ROOT / "charts" / "dummy-flask-app", old)
    chart_yaml = old / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("\nversion: ", "\nversion: 0.0.1\n#", 1))
    for chart in (old, ROOT / "charts" / "dummy-flask-app"):
        run([helm, "package", str(chart), "-d", str(served)])
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0", "-d", str(served)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split(" port ")[1].split()[0]
        url = f"http://127.0.0.1:{port}"
        run([helm, "repo", "index", str(served), "--url", url])
        env = {**os.environ, **{k: str(tmp_path / k) for k in HELM_HOMES}}
        run([helm, "repo", "add", "local", url], env=env)
        yield env
    finally:
        server.terminate()
        server.wait(10)


HELM_HOMES = ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")


def test_a_chart_from_a_repository_is_fetched_at_the_version_asked_for(chart_repository):
    for version in ("0.0.1", None):
        asked = ["--version", version] if version else []
        done = run_script(
            "rollout-plan", "--chart", "local/dummy-flask-app", *asked, env=chart_repository
        )
        assert done.returncode == 0, done.stderr
        newest = chart_version(ROOT / "charts" / "dummy-flask-app")
        said = f"chart dummy-flask-app {version or newest}, NOT verified (--verify)"
        assert said in done.stderr
        assert "peak pods:" in done.stdout
