"""The persistent renderer: `helm template` on Helm's own Go library, built for both Helms.

`helm template` costs ~85 ms a call, most of it the binary starting. The renderer
(renderer/helm4/main.go, renderer/helm3/main.go, the rest shared in renderer/server) loads the
chart once and answers many renders over a pipe; harness.chart.render starts one per process
when it is installed. Each is built from a module that requires the same Helm as the pinned
binary (helm.sh/helm/v4 at HELM's version, helm.sh/helm/v3 at HELM3's) with that binary's
ldflags (Helm 3's set the Kubernetes version it assumes), into a folder named by the Helm
version and a digest of the sources, ``.tools/go/renderer-helm4-v4.3.1-<digest>/``, linked as
``.tools/bin/dfa-render-helm4``; a changed source is a new folder, so `install` rebuilds it.

    python -m harness.toolchain.renderer install    # build what is missing; idempotent
    python -m harness.toolchain.renderer versions   # print what is installed
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.core.tools import BIN_DIR, ToolError
from harness.toolchain.gotools import (
    BUILD_TIMEOUT_S,
    GO_DIR,
    HELM,
    HELM3,
    VERSION_TIMEOUT_S,
    GoTool,
    Installer,
    build_env,
    version_table,
)

SOURCE = Path(__file__).parent / "renderer"


def source_digest() -> str:
    """Names a build by every source file of the renderer, the shared ones included."""
    digest = hashlib.sha256()
    for path in sorted(p for p in SOURCE.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(SOURCE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Renderer:
    """The renderer built on the library of one pinned Helm."""

    flavour: str  # its folder under renderer/: helm4, helm3
    helm: GoTool

    @property
    def name(self) -> str:
        return f"dfa-render-{self.flavour}"

    @property
    def source(self) -> Path:
        return SOURCE / self.flavour

    @property
    def binary(self) -> Path:
        home = GO_DIR / f"renderer-{self.flavour}-{self.helm.version}-{source_digest()}"
        return home / self.name

    @property
    def link(self) -> Path:
        return BIN_DIR / self.name

    def required_helm(self) -> str | None:
        """The Helm version the module's go.mod requires."""
        pattern = rf"^\s*(?:require\s+)?{re.escape(self.helm.module)} (v\S+)"
        match = re.search(pattern, (self.source / "go.mod").read_text(), re.MULTILINE)
        return match.group(1) if match else None

    def reported_version(self, executable: Path) -> str | None:
        """The Helm version `executable version` reports, or None when it does not run."""
        try:
            done = run([executable, "version"], timeout=VERSION_TIMEOUT_S)
        except (CommandError, OSError):
            return None
        match = re.search(r"^helm (\S+)$", done.stdout, re.MULTILINE)
        return match.group(1) if match else None


RENDERERS = (Renderer("helm4", HELM), Renderer("helm3", HELM3))


def _build(renderer: Renderer) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolError(f"cannot build {renderer.name}: `go` is not on PATH")
    binary = renderer.binary
    env = build_env(binary.parent, go)
    flags = ["-trimpath", "-ldflags", renderer.helm.build_ldflags]
    print(f"building {renderer.name} on helm {renderer.helm.version} ...", end=" ", flush=True)
    start = time.monotonic()
    try:
        run(
            [go, "build", *flags, "-o", str(binary), "."],
            env=env,
            cwd=renderer.source,
            timeout=BUILD_TIMEOUT_S,
        )
    except CommandError as error:
        print("failed", flush=True)
        raise ToolError(f"{error}\n\nbuilding {renderer.name} failed (see above)") from error
    print(f"done in {time.monotonic() - start:.0f} s", flush=True)


def install_renderer(renderer: Renderer) -> None:
    """Make .tools/bin/<name> the renderer built from the current sources on the pinned Helm."""
    required = renderer.required_helm()
    if required != renderer.helm.version:
        raise ToolError(
            f"{renderer.source}/go.mod requires {renderer.helm.module} {required}, but the"
            f" pinned {renderer.helm.name} is {renderer.helm.version}; run `go get"
            f" {renderer.helm.module}@{renderer.helm.version} && go mod tidy` there"
        )
    binary = renderer.binary
    if renderer.link.resolve() == binary.resolve() and binary.exists():
        print(f"{renderer.name} on helm {renderer.helm.version}: already installed")
        return
    if renderer.reported_version(binary) != renderer.helm.version:
        _build(renderer)
    found = renderer.reported_version(binary)
    if found != renderer.helm.version:
        raise ToolError(f"{binary} reports helm {found}, not {renderer.helm.version}")
    renderer.link.parent.mkdir(parents=True, exist_ok=True)
    renderer.link.unlink(missing_ok=True)
    renderer.link.symlink_to(os.path.relpath(binary, renderer.link.parent))
    # Builds from older sources or Helms (a process still running one keeps its file open).
    for stale in GO_DIR.glob(f"renderer-{renderer.flavour}-*"):
        if stale != binary.parent:
            shutil.rmtree(stale)
    print(f"{renderer.name} on helm {renderer.helm.version}: installed at {renderer.link}")


def install(names: list[str] | tuple[str, ...] = ()) -> None:
    """Install the renderers of the Helms called `names` (helm4, helm3), or both."""
    for renderer in RENDERERS:
        if not names or renderer.flavour in names:
            install_renderer(renderer)


def version_lines() -> list[str]:
    """One line per renderer: its name, the pinned Helm, and what is installed if it differs.

    A renderer built from other sources than the current ones counts as missing.
    """
    rows = []
    for renderer in RENDERERS:
        current = renderer.link.resolve() == renderer.binary.resolve()
        found = renderer.reported_version(renderer.link) if current else None
        rows.append((renderer.name, renderer.helm.version, found))
    return version_table(rows)


main = Installer(
    "harness.toolchain.renderer",
    __doc__,
    install,
    version_lines,
    names=[renderer.flavour for renderer in RENDERERS],
).main


if __name__ == "__main__":
    sys.exit(main())
