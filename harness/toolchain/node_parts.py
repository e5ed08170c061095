"""The real node's parts, pinned, built next to the control plane.

kubelet and kube-proxy come with the control plane (harness.toolchain.controlplane: same
wrapper module, same version). This installs the rest, from Go modules:

- containerd, ctr and containerd-shim-runc-v2 (runc itself is Debian's: harness.toolchain.debian);
- the CNI plugins the node's network needs (bridge, host-local, loopback, portmap), linked
  into .tools/cni/bin rather than .tools/bin, where `bridge` would shadow iproute2's;
- CoreDNS;
- the pause image: no image can be pulled here, so the pods' sandbox is a tiny static
  program of this repository (pause/main.go), packed as an OCI image archive that the node
  imports into containerd.

    python -m harness.toolchain.node_parts install    # build what is missing; idempotent
    python -m harness.toolchain.node_parts versions   # print what is installed
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import sys
import tarfile
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.core.tools import TOOLS_DIR, ToolError
from harness.toolchain.gotools import (
    BUILD_TIMEOUT_S,
    GO_DIR,
    GoTool,
    Installer,
    build_env,
    install,
    version_table,
)

CONTAINERD_VERSION = "v2.4.2"
CNI_VERSION = "v1.10.0"
COREDNS_VERSION = "v1.15.0"
CNI_BIN_DIR = TOOLS_DIR / "cni" / "bin"
CACHE_DIR = TOOLS_DIR / "cache"
PAUSE_SOURCE = Path(__file__).parent / "pause"

_CONTAINERD_MODULE = "github.com/containerd/containerd/v2"


def _containerd(name: str, version_args: tuple[str, ...], pattern: str) -> GoTool:
    return GoTool(
        name=name,
        binary=name,
        module=_CONTAINERD_MODULE,
        package=f"{_CONTAINERD_MODULE}/cmd/{name}",
        version=CONTAINERD_VERSION,
        # Without it every binary reports "+unknown".
        ldflags=f"-s -w -X {_CONTAINERD_MODULE}/version.Version={{version}}",
        version_args=version_args,
        version_pattern=pattern,
    )


CONTAINERD = (
    _containerd("containerd", ("--version",), r"^containerd \S+ (v\S+)"),
    _containerd("ctr", ("--version",), r"^ctr \S+ (v\S+)"),
    _containerd("containerd-shim-runc-v2", ("-v",), r"^\s*Version:\s+(v\S+)"),
)


def _cni(name: str, path: str) -> GoTool:
    module = "github.com/containernetworking/plugins"
    return GoTool(
        name=name,
        binary=name,
        module=module,
        package=f"{module}/plugins/{path}",
        version=CNI_VERSION,
        ldflags=f"-s -w -X {module}/pkg/utils/buildversion.BuildVersion={{version}}",
        # Run with no CNI_COMMAND, a plugin prints its name and version.
        version_args=(),
        version_pattern=rf"^CNI {name} plugin (v\S+)",
        link_dir=CNI_BIN_DIR,
    )


CNI_PLUGINS = (
    _cni("bridge", "main/bridge"),
    _cni("host-local", "ipam/host-local"),
    _cni("loopback", "main/loopback"),
    _cni("portmap", "meta/portmap"),
)

COREDNS = GoTool(
    name="coredns",
    binary="coredns",
    module="github.com/coredns/coredns",
    package="github.com/coredns/coredns",
    version=COREDNS_VERSION,
    ldflags="-s -w",
    version_args=("-version",),
    version_pattern=r"^CoreDNS-(\S+)",
)

GO_TOOLS: tuple[GoTool, ...] = (*CONTAINERD, *CNI_PLUGINS, COREDNS)


def _source_digest() -> str:
    """Names a pause build by its source, so a changed program is a new binary and image."""
    digest = hashlib.sha256()
    for path in sorted(PAUSE_SOURCE.glob("*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


PAUSE_IMAGE = f"pause.dummy-flask-app.local/pause:{_source_digest()}"
PAUSE_BINARY = GO_DIR / f"pause-{_source_digest()}" / "pause"
PAUSE_ARCHIVE = CACHE_DIR / f"pause-{_source_digest()}.oci.tar"


def build_pause() -> None:
    """Compile the pause program, static, into its source-named folder."""
    go = shutil.which("go")
    if go is None:
        raise ToolError("cannot build the pause program: `go` is not on PATH")
    env = build_env(PAUSE_BINARY.parent, go)
    command = [go, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(PAUSE_BINARY), "."]
    try:
        run(command, env=env, cwd=PAUSE_SOURCE, timeout=BUILD_TIMEOUT_S)
    except CommandError as error:
        raise ToolError(f"{error}\n\nbuilding the pause program failed") from error


def _oci_architecture() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _blob(data: bytes) -> tuple[str, int]:
    return f"sha256:{hashlib.sha256(data).hexdigest()}", len(data)


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A reproducible tar of `files` (name -> (content, mode)): root-owned, time zero."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def pause_archive(binary: bytes, image: str = PAUSE_IMAGE) -> bytes:
    """An OCI image archive (what `ctr images import` takes) of one layer holding /pause."""
    layer = _tar({"pause": (binary, 0o755)})
    layer_digest, layer_size = _blob(layer)
    config = json.dumps(
        {
            "architecture": _oci_architecture(),
            "os": "linux",
            "config": {"Entrypoint": ["/pause"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        },
        sort_keys=True,
    ).encode()
    config_digest, config_size = _blob(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config_size,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": layer_size,
                }
            ],
        },
        sort_keys=True,
    ).encode()
    manifest_digest, manifest_size = _blob(manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {
                    "io.containerd.image.name": image,
                    "org.opencontainers.image.ref.name": image.rsplit(":", 1)[1],
                },
            }
        ],
    }
    blobs = {
        f"blobs/sha256/{digest.split(':')[1]}": (data, 0o644)
        for digest, data in (
            (layer_digest, layer),
            (config_digest, config),
            (manifest_digest, manifest),
        )
    }
    return _tar(
        {
            **blobs,
            "oci-layout": (b'{"imageLayoutVersion":"1.0.0"}', 0o644),
            "index.json": (json.dumps(index, sort_keys=True).encode(), 0o644),
        }
    )


def install_pause() -> None:
    if PAUSE_ARCHIVE.exists():
        print(f"pause image {PAUSE_IMAGE}: already built")
        return
    if not PAUSE_BINARY.exists():
        build_pause()
    PAUSE_ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    partial = PAUSE_ARCHIVE.with_suffix(".partial")
    partial.write_bytes(pause_archive(PAUSE_BINARY.read_bytes()))
    partial.rename(PAUSE_ARCHIVE)
    print(f"pause image {PAUSE_IMAGE}: {PAUSE_ARCHIVE}")


def install_all() -> None:
    for tool in GO_TOOLS:
        install(tool)
    install_pause()


def version_lines() -> list[str]:
    rows = [
        (tool.name, tool.version, tool.version if tool.is_pinned(tool.link) else None)
        for tool in GO_TOOLS
    ]
    rows.append(("pause image", PAUSE_IMAGE, PAUSE_IMAGE if PAUSE_ARCHIVE.exists() else None))
    return version_table(rows)


main = Installer("harness.toolchain.node_parts", __doc__, install_all, version_lines).main


if __name__ == "__main__":
    sys.exit(main())
