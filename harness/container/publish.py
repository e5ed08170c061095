"""Put the app image where the local node pulls it: built from the Dockerfile on the
project's engine, tagged with each version, pushed by `scripts/build-image --push` to the
cluster's registry (through its loopback forward), as an operator pushes a release.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from harness.cluster.local import LocalCluster
from harness.cluster.registry import USERNAME
from harness.container.app_container import ContainerError, build_app_image
from harness.container.baseimage import ensure_base_image
from harness.container.engine import DOCKER, Engine
from harness.core.tools import ROOT
from harness.ops.image import REPOSITORY

TAGS = ("1.0.0", "1.5.0")


def publish(
    cluster: LocalCluster, engine: Engine, base_image: str, tags: Sequence[str] = TAGS
) -> None:
    """Build and push each tag; the node then pulls REPOSITORY:<tag> from its registry."""
    address = cluster.registry_address
    engine.docker(
        "login",
        address,
        "--username",
        USERNAME,
        "--password-stdin",
        input=cluster.node.registry.password,
    )
    # The engine's own (Debian) client answers to `docker` for the script.
    env = {**engine.env(), "PATH": f"{DOCKER.parent}:{os.environ.get('PATH', '')}"}
    path = REPOSITORY.split("/", 1)[1]
    for tag in tags:
        # Built first with the host's CA bundle for pip (build_app_image); the script's own
        # build then finds every layer cached and pushes.
        build_app_image(engine, tag, base_image=base_image)
        command = [
            str(ROOT / "scripts" / "build-image"),
            "--push",
            "--version",
            tag,
            "--repository",
            f"{address}/{path}",
            "--base-image",
            base_image,
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ContainerError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def publish_images(cluster: LocalCluster, tags: Sequence[str] = TAGS) -> None:
    """`publish` on the project's engine, started for it (and stopped) when not running."""
    engine = Engine()
    started = engine.start()
    try:
        print(f"pushing {REPOSITORY}:{{{','.join(tags)}}} to the cluster's registry", flush=True)
        publish(cluster, engine, ensure_base_image(engine), tags)
    finally:
        if started:
            engine.stop()
