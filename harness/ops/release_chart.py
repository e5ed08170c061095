"""Release the chart: check it, package it, sign it and push it to an OCI registry.

    scripts/release-chart --key NAME --keyring FILE [--cosign-key FILE]
                          [--registry oci://HOST/PATH] [--chart DIR] [--plain-http] [--dry-run]

1. refuses a chart with changes git has not committed: a release is a commit's chart;
2. refuses an `appVersion` that is not the image the chart runs by default (values.yaml's
   `image.tag`, when set, and the `artifacthub.io/images` annotation must name it), and a
   `version` that CHANGELOG.md has no entry for;
3. asks the registry for the chart's newest version (`helm show chart --devel`: pre-releases
   count) and refuses a `version` that is not above it; a chart the registry has never held
   is a first release. When the registry holds this very version with the same files (a
   run killed after its push), there is nothing to do: it says so, with the digest;
4. `helm package --sign` with the GPG key NAME from FILE (a secret keyring in the legacy
   format: `gpg --export-secret-keys NAME > FILE`), into a temporary folder: the chart's
   .tgz and its provenance file (.prov);
5. `helm push`, which uploads the .prov with the chart, and prints the pushed digest;
6. with `--cosign-key` (a cosign key pair's secret half, its password in COSIGN_PASSWORD),
   `cosign sign` of the pushed digest, without a transparency log (harness.ops.cosign); a
   rerun that finds the digest signed by that key already leaves it.

The registry's credentials are helm's: `helm registry login HOST` first (cosign is given
the same login). Users verify with `helm pull --verify` or `helm install --verify` and the
public key (`gpg --export NAME`), and the scripts' `--cosign-key cosign.pub`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.chart import changelog
from harness.chart.render import CHART_DIR
from harness.core.proc import CommandError, run
from harness.core.tools import tool_path
from harness.ops import cli, cosign
from harness.ops.chartref import helm_digest

DEFAULT_REGISTRY = "oci://registry-qcc.quantil.com/oe-tools/charts"
# What helm's error says when the registry holds no such chart, and when it refuses the
# caller (no credentials, or wrong ones), as docker-registry 2.8 and others answer.
_NOT_THERE = re.compile(r"status code 404|name unknown|manifest unknown", re.IGNORECASE)
_REFUSED = re.compile(
    r"credential|unauthorized|status code 40[13]|denied|authentication required", re.IGNORECASE
)
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Release:
    """What one run releases, and where to."""

    chart: Path
    registry: str
    key: str
    keyring: Path
    plain_http: bool = False
    cosign_key: Path | None = None  # a cosign secret key: also sign the pushed digest with it

    @property
    def metadata(self) -> dict:
        return yaml.safe_load((self.chart / "Chart.yaml").read_text())

    @property
    def reference(self) -> str:
        return f"{self.registry.rstrip('/')}/{self.metadata['name']}"

    def http_flags(self) -> list[str]:
        return ["--plain-http"] if self.plain_http else []


def version_key(version: str) -> tuple:
    """A SemVer 2 version as a sortable key: a pre-release sorts before its release."""
    match = _SEMVER.match(version)
    if match is None:
        raise cli.Refused(f"Chart.yaml: version {version!r} is not a SemVer version like 0.8.0")
    major, minor, patch, pre = match.groups()
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in (pre or "").split("."))
    return (int(major), int(minor), int(patch), pre is None, parts if pre else ())


def check_committed(chart: Path) -> None:
    """Refused while git reports changes (or files it does not track) under the chart."""
    status = run(["git", "-C", str(chart), "status", "--porcelain", "--", "."]).stdout
    if changed := [line[3:] for line in status.splitlines() if line.strip()]:
        raise cli.Refused(
            f"the chart has changes git has not committed ({', '.join(changed[:5])}): a"
            " release is a commit's chart; commit them, or stash them, first"
        )


def check_app_version(chart: Path) -> None:
    """Refused unless `appVersion` is the image the chart runs by default."""
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    app_version = str(metadata["appVersion"])
    image = values["image"]
    if image.get("tag") and str(image["tag"]) != app_version:
        raise cli.Refused(
            f"values.yaml: image.tag {image['tag']!r} is not appVersion {app_version!r}: the"
            " chart would run another image than it says; leave image.tag empty"
        )
    listed = yaml.safe_load(metadata.get("annotations", {}).get("artifacthub.io/images", "[]"))
    wanted = f"{image['repository']}:{app_version}"
    if [entry.get("image") for entry in listed or []] != [wanted]:
        raise cli.Refused(
            f"Chart.yaml: the artifacthub.io/images annotation must name {wanted}, the image"
            f" appVersion {app_version} runs"
        )


def check_changelog(chart: Path, version: str) -> None:
    """Refused unless the chart's CHANGELOG.md says what this version changed."""
    try:
        entries = changelog.read(chart / "CHANGELOG.md").get(version)
    except (OSError, changelog.ChangelogError) as error:
        raise cli.Refused(f"{chart.name}/CHANGELOG.md: {error}") from None
    if not entries:
        raise cli.Refused(
            f"{chart.name}/CHANGELOG.md has no entry for version {version}: add a"
            f" `## {version}` section with what changed (and the same in Chart.yaml's"
            " artifacthub.io/changes) first"
        )


def last_release(helm: Path, release: Release) -> str | None:
    """The newest version of the chart the registry holds; None when it holds none."""
    done = run(
        # --devel: pre-releases count too (without it helm sees only releases).
        [helm, "show", "chart", release.reference, "--devel", *release.http_flags()],
        check=False,
        timeout=60,
    )
    if done.returncode == 0:
        return str(yaml.safe_load(done.stdout)["version"])
    error = cli.last_line(done.stdout, done.stderr) or "no output"
    if _REFUSED.search(error):
        host = release.registry.removeprefix("oci://").split("/")[0]
        raise cli.Forbidden(
            f"{host} refuses these credentials ({error}): log in with"
            f" `helm registry login {host}`, as a user that may push"
        )
    if _NOT_THERE.search(error):
        return None
    raise cli.OperatorError(f"cannot ask {release.reference} for its last release: {error}")


def _contents(chart: Path) -> dict[str, object]:
    """A chart's files by path: their bytes, and Chart.yaml as data (helm package writes it
    anew, in its own order and style)."""
    files: dict[str, object] = {
        path.relative_to(chart).as_posix(): path.read_bytes()
        for path in sorted(chart.rglob("*"))
        if path.is_file()
    }
    files["Chart.yaml"] = yaml.safe_load((chart / "Chart.yaml").read_text())
    return files


def released_as_is(helm: Path, release: Release, version: str) -> str | None:
    """The digest of `version` in the registry when its files are the chart's own."""
    with tempfile.TemporaryDirectory(prefix="release-chart-") as folder:
        pull = [helm, "pull", release.reference, "--version", version, "--untar"]
        done = run([*pull, "--untardir", folder, *release.http_flags()], check=False)
        digest = helm_digest(done.stdout + done.stderr)
        pulled = Path(folder) / str(release.metadata["name"])
        if done.returncode or digest is None or not pulled.is_dir():
            return None
        return digest if _contents(pulled) == _contents(release.chart) else None


def check_bumped(version: str, last: str | None) -> None:
    if last is not None and version_key(version) <= version_key(last):
        raise cli.Refused(
            f"Chart.yaml: version {version} is not above {last}, the registry's last release:"
            " bump it"
        )


def check_key(release: Release) -> None:
    if not release.keyring.is_file():
        raise cli.Refused(
            f"--keyring: {release.keyring} is not a file; export the signing key with"
            f" `gpg --export-secret-keys {release.key} > {release.keyring}`"
        )
    if release.cosign_key is not None:
        if not release.cosign_key.is_file():
            raise cli.Refused(
                f"--cosign-key: {release.cosign_key} is not a file; make a key pair with"
                " `cosign generate-key-pair` and give its cosign.key"
            )
        cosign.check_password()


def package(helm: Path, release: Release, into: Path) -> Path:
    """`helm package --sign`: the chart's .tgz in `into`, its .prov next to it."""
    args = ["package", str(release.chart), "--sign", "--key", release.key]
    try:
        run([helm, *args, "--keyring", str(release.keyring), "-d", str(into)], timeout=120)
    except CommandError as error:
        last = cli.last_line(error.stdout, error.stderr)
        raise cli.Refused(
            f"--key {release.key!r} could not sign with {release.keyring}: {last}"
        ) from None
    [packaged] = into.glob("*.tgz")
    return packaged


def push(helm: Path, release: Release, packaged: Path) -> str:
    """`helm push` of the chart and its .prov; the digest the registry gave."""
    done = run([helm, "push", str(packaged), release.registry, *release.http_flags()], timeout=120)
    digest = helm_digest(done.stdout + done.stderr)
    if digest is None:
        raise cli.OperatorError(f"helm push printed no digest: {done.stdout.strip()}")
    return digest


def release_chart(helm: Path, release: Release, dry_run: bool = False) -> str | None:
    """The module doc's steps; the digest in the registry (None with `dry_run`)."""
    check_key(release)
    signer = tool_path("cosign") if release.cosign_key else None  # missing: before any push
    check_committed(release.chart)
    check_app_version(release.chart)
    version = str(release.metadata["version"])
    check_changelog(release.chart, version)
    last = last_release(helm, release)
    if last == version and (digest := released_as_is(helm, release, version)):
        print(f"{release.reference}:{version} is already released as it is here: {digest}")
    else:
        check_bumped(version, last)
        print(f"releasing {release.reference}:{version} (last release: {last or 'none'})")
        if dry_run:
            print(f"would run: helm package {release.chart} --sign --key {release.key}")
            print(f"would run: helm push <the package> {release.registry}")
            if release.cosign_key:
                print(f"would run: cosign sign --key {release.cosign_key} <the pushed digest>")
            return None
        with tempfile.TemporaryDirectory(prefix="release-chart-") as into:
            packaged = package(helm, release, Path(into))
            digest = push(helm, release, packaged)
        print(f"pushed {release.reference}:{version} with its provenance: {digest}")
    if signer and release.cosign_key and not dry_run:
        name = cosign.oci_name(release.reference, digest)
        signed = cosign.sign(signer, helm, name, release.cosign_key, release.plain_http)
        done = "signed" if signed else "already signed"
        print(f"{done} {name} with cosign key {release.cosign_key}")
    return digest


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.release_chart")
    parser = argparse.ArgumentParser(
        prog=name, description=__doc__.split("\n\n")[0], epilog=cli.EXIT_CODES
    )
    parser.add_argument("--key", required=True, help="the GPG key (name or email) that signs")
    parser.add_argument(
        "--keyring", required=True, type=Path, metavar="FILE", help="secret keyring (legacy)"
    )
    parser.add_argument(
        "--cosign-key",
        type=Path,
        metavar="FILE",
        help="also sign the pushed chart with this cosign key (password in COSIGN_PASSWORD)",
    )
    parser.add_argument(
        "--registry",
        default=DEFAULT_REGISTRY,
        metavar="oci://HOST/PATH",
        help=f"where to push (default {DEFAULT_REGISTRY})",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=CHART_DIR,
        metavar="DIR",
        help="the chart directory, in a git checkout (default: charts/dummy-flask-app here)",
    )
    parser.add_argument(
        "--plain-http", action="store_true", help="the registry speaks HTTP, not HTTPS"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and say what it would do; push nothing"
    )
    args = parser.parse_args(argv)
    if not args.registry.startswith("oci://"):
        parser.error(f"--registry: {args.registry!r} is not an oci:// reference")

    def body() -> None:
        helm = cli.helm_tool()
        cli.report_tools(helm)
        release = Release(
            args.chart, args.registry, args.key, args.keyring, args.plain_http, args.cosign_key
        )
        release_chart(helm.path, release, args.dry_run)

    return cli.run_main(name, body)


if __name__ == "__main__":
    sys.exit(main())
