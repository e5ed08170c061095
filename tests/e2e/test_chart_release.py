"""scripts/release-chart against a real OCI registry: the local cluster's (Debian's
docker-registry, htpasswd auth, plain HTTP on loopback), with a GPG key and a cosign key pair
made for the run and never kept. Each run pushes under a repository of its own, so runs never
meet.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from harness.chart.render import CHART_DIR
from harness.chart.signing import make_cosign_key, make_key
from harness.cluster.local import LocalCluster
from harness.cluster.registry import USERNAME
from harness.core.proc import run
from harness.core.tools import ROOT, tool_path
from harness.ops import cli, cosign
from harness.ops.release_chart import Release, last_release, package, push, release_chart
from tests.support.signing import change_after_signing

pytestmark = [pytest.mark.e2e, pytest.mark.node_shares(0)]

SIGNER = "dfa-release-e2e@example.invalid"
CHART_VERSION = str(yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["version"])
_MAJOR, _MINOR, _PATCH = CHART_VERSION.split("-")[0].split(".")
NEXT = f"{_MAJOR}.{_MINOR}.{int(_PATCH) + 1}-e2e"  # the next version, as a pre-release


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=e2e", "-c", f"user.email={SIGNER}"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The release key: (its secret keyring, its public keyring)."""
    return make_key(tmp_path_factory.mktemp("gnupg"), SIGNER)


@pytest.fixture(scope="module")
def cosign_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The release's cosign key pair: (cosign.key, cosign.pub), locked with no password."""
    return make_cosign_key(tmp_path_factory.mktemp("cosign") / "release")


def cosign_signatures(name: str, public: Path) -> list[dict]:
    """The signatures by `public` that `cosign verify` finds on `name` (REGISTRY/PATH@DIGEST)."""
    done = cosign.verify(tool_path("cosign"), tool_path("helm"), name, public, plain_http=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def logged_in(
    local_cluster: LocalCluster | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """helm logged in to the cluster's registry (a registry config of the module's own);
    the oci:// place this run releases to."""
    if local_cluster is None:
        pytest.skip("releases go to the local cluster's registry")
    host = local_cluster.registry_address
    config = tmp_path_factory.mktemp("helm-registry") / "config.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HELM_REGISTRY_CONFIG", str(config))
        patch.setenv("COSIGN_PASSWORD", "")  # the cosign keys here are made without one
        login = [tool_path("helm"), "registry", "login", host, "--plain-http"]
        run(
            [*login, "--username", USERNAME, "--password-stdin"],
            input=local_cluster.node.registry.password,
        )
        yield f"oci://{host}/e2e-{secrets.token_hex(3)}/charts"


@pytest.fixture
def release(
    tmp_path: Path, keys: tuple[Path, Path], cosign_keys: tuple[Path, Path], logged_in: str
) -> Release:
    """The chart, copied into a git repository of its own and committed, to release."""
    chart = tmp_path / "repo" / CHART_DIR.name
    shutil.copytree(CHART_DIR, chart)
    _git(chart.parent, "init", "-q")
    _git(chart.parent, "add", ".")
    _git(chart.parent, "commit", "-qm", "the chart")
    return Release(chart, logged_in, SIGNER, keys[0], plain_http=True, cosign_key=cosign_keys[0])


def _bump(release: Release, version: str) -> None:
    metadata = yaml.safe_load((release.chart / "Chart.yaml").read_text())
    metadata["version"] = version
    (release.chart / "Chart.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
    changes = release.chart / "CHANGELOG.md"
    title, _, rest = changes.read_text().partition("\n## ")
    changes.write_text(f"{title}\n## {version}\n\n- Changed: an e2e release.\n\n## {rest}")
    _git(release.chart.parent, "commit", "-qam", f"chart {version}")


def test_a_release_pushes_the_signed_chart_and_helm_pull_verify_and_cosign_verify_pass(
    release: Release, keys: tuple[Path, Path], cosign_keys: tuple[Path, Path], tmp_path: Path
):
    _bump(release, "0.8.0-e2e.1")
    digest = release_chart(tool_path("helm"), release)

    [signature] = cosign_signatures(cosign.oci_name(release.reference, digest), cosign_keys[1])
    assert signature["critical"]["image"]["docker-manifest-digest"] == digest

    pull = [tool_path("helm"), "pull", release.reference, "--version", "0.8.0-e2e.1"]
    pulled = run([*pull, "--plain-http", "--verify", "--keyring", keys[1], "-d", tmp_path])
    said = pulled.stdout + pulled.stderr
    assert f"Digest: {digest}" in said, said
    assert f"Signed by: {SIGNER}" in said and "Chart Hash Verified" in said, said
    assert (tmp_path / "dummy-flask-app-0.8.0-e2e.1.tgz.prov").is_file()


def test_a_rerun_of_a_finished_release_finishes_and_a_changed_chart_goes_out_only_bumped(
    release: Release,
):
    _bump(release, "0.8.0-e2e.2")
    digest = release_chart(tool_path("helm"), release)

    assert release_chart(tool_path("helm"), release) == digest, "a rerun finds it released"
    name = cosign.oci_name(release.reference, digest)
    assert len(cosign_signatures(name, release.cosign_key.with_suffix(".pub"))) == 1, (
        "a rerun signs the chart again"
    )
    values = release.chart / "values.yaml"
    values.write_text(values.read_text() + "\n# changed\n")
    _git(release.chart.parent, "commit", "-qam", "a change, no bump")
    with pytest.raises(cli.Refused, match=r"0\.8\.0-e2e\.2 is not above 0\.8\.0-e2e\.2"):
        release_chart(tool_path("helm"), release)
    _bump(release, "0.8.0-e2e.3")
    assert release_chart(tool_path("helm"), release) != digest
    assert last_release(tool_path("helm"), release) == "0.8.0-e2e.3"


def test_a_registry_that_refuses_the_caller_is_named_with_the_login_command(
    release: Release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(tmp_path / "nobody.json"))
    host = release.registry.removeprefix("oci://").split("/")[0]
    with pytest.raises(cli.Forbidden, match=f"helm registry login {host}"):
        release_chart(tool_path("helm"), release)


def test_an_unreachable_registry_is_named_and_nothing_is_packaged(release: Release):
    nowhere = replace(release, registry="oci://127.0.0.1:1/charts")
    with pytest.raises(cli.OperatorError, match=r"127\.0\.0\.1:1.*connection refused"):
        release_chart(tool_path("helm"), nowhere)


def test_the_script_says_what_it_would_push_with_dry_run(release: Release, keys: tuple[Path, Path]):
    script = [ROOT / "scripts" / "release-chart", "--chart", release.chart, "--key", SIGNER]
    flags = ["--keyring", keys[0], "--registry", release.registry, "--plain-http", "--dry-run"]
    done = run([*script, *flags])
    assert "would run: helm push <the package>" in done.stdout, done.stdout


# --- installing from the registry, verified -----------------------------------------------


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Another GPG key's secret keyring and another cosign key: signatures nobody asked for."""
    folder = tmp_path_factory.mktemp("stranger")
    gpg = make_key(folder / "gnupg", "stranger@example.invalid")[0]
    return gpg, make_cosign_key(folder / "cosign")[0]


def _push_signed(helm: Path, release: Release, packaged: Path) -> str:
    """Push `packaged` and sign its digest with the release's cosign key."""
    digest = push(helm, release, packaged)
    assert release.cosign_key is not None
    name = cosign.oci_name(release.reference, digest)
    cosign.sign(tool_path("cosign"), helm, name, release.cosign_key, plain_http=True)
    return digest


@pytest.fixture(scope="module")
def published(
    keys: tuple[Path, Path],
    cosign_keys: tuple[Path, Path],
    stranger: tuple[Path, Path],
    logged_in: str,
    tmp_path_factory,
) -> dict[str, str]:
    """The chart in the registry four ways, each under a path of its own: signed by the
    release keys; changed after signing (its .prov kept, pushed again over the signed digest
    under the same version); signed by a stranger's keys; unsigned. Name -> its oci://
    reference. The signed one also has a NEXT version, to upgrade to."""
    work = tmp_path_factory.mktemp("published")
    chart = work / CHART_DIR.name
    shutil.copytree(CHART_DIR, chart)
    helm = tool_path("helm")
    refs = {}
    for name in ("signed", "changed", "stranger", "unsigned"):
        out = work / name
        out.mkdir()
        release = Release(
            chart, f"{logged_in}-{name}", SIGNER, keys[0], True, cosign_key=cosign_keys[0]
        )
        if name == "stranger":
            release = replace(
                release, key="stranger@example.invalid", keyring=stranger[0], cosign_key=stranger[1]
            )
        if name == "unsigned":
            run([helm, "package", chart, "-d", out])
            [packaged] = out.glob("*.tgz")
            push(helm, release, packaged)
        else:
            packaged = package(helm, release, out)
            _push_signed(helm, release, packaged)
        if name == "changed":
            change_after_signing(packaged)
            push(helm, release, packaged)
        refs[name] = release.reference
    (chart / "Chart.yaml").write_text(
        (chart / "Chart.yaml").read_text().replace(f"version: {CHART_VERSION}", f"version: {NEXT}")
    )
    next_release = Release(
        chart, f"{logged_in}-signed", SIGNER, keys[0], True, cosign_key=cosign_keys[0]
    )
    _push_signed(helm, next_release, package(helm, next_release, work / "next"))
    return refs


def _deploy(namespace: str, reference: str, *flags: str | Path):
    script = [ROOT / "scripts" / "deploy", "-n", namespace, "--chart", reference]
    return run([*script, "--plain-http", "--timeout", "3m", *flags], check=False, timeout=240)


def test_a_verified_release_from_the_registry_installs_upgrades_and_passes_helm_test(
    published: dict[str, str],
    keys: tuple[Path, Path],
    cosign_keys: tuple[Path, Path],
    namespaces,
    kube,
):
    namespace = namespaces()
    verified = ["--verify", "--keyring", keys[1], "--cosign-key", cosign_keys[1]]
    for version in (CHART_VERSION, NEXT):
        done = _deploy(namespace, published["signed"], *verified, "--version", version)
        assert done.returncode == 0, done.stderr
        assert "its provenance verified, its cosign signature verified" in done.stderr
    history = kube.helm("history", "dummy-flask-app", "--namespace", namespace, "-o", "json")
    charts = [revision["chart"] for revision in json.loads(history.stdout)]
    assert charts == [f"dummy-flask-app-{CHART_VERSION}", f"dummy-flask-app-{NEXT}"]
    tested = kube.helm("test", "dummy-flask-app", "--namespace", namespace)
    assert "Phase:          Succeeded" in tested.stdout, tested.stdout


NO_COSIGN_SIGNATURE = "it has no cosign signature: nobody signed it, or it was changed after"


@pytest.mark.parametrize(
    "variant, check, reason",
    [
        ("changed", "--verify", "it was changed after it was signed"),
        ("stranger", "--verify", "it is signed by a key that is not in --keyring"),
        ("unsigned", "--verify", "it has no provenance file (.prov): nobody signed it"),
        ("changed", "--cosign-key", NO_COSIGN_SIGNATURE),
        ("stranger", "--cosign-key", "it is signed, but not by the key in --cosign-key"),
        ("unsigned", "--cosign-key", NO_COSIGN_SIGNATURE),
    ],
)
def test_a_chart_that_fails_verification_is_refused_in_one_line_and_nothing_is_installed(
    published: dict[str, str],
    keys: tuple[Path, Path],
    cosign_keys: tuple[Path, Path],
    namespaces,
    kube,
    variant,
    check,
    reason,
):
    namespace = namespaces()
    flags = ["--verify", "--keyring", keys[1]] if check == "--verify" else [check, cosign_keys[1]]
    done = _deploy(namespace, published[variant], *flags)

    assert done.returncode == cli.Exit.REFUSED, done.stderr
    [error] = [line for line in done.stderr.splitlines() if "error:" in line]
    assert f"{check}: {published[variant]} (newest)" in error and "fails verification" in error
    assert reason in error and "nothing was installed" in error
    assert kube.objects("secrets", namespace, "owner=helm") == [], "helm stored a release"
