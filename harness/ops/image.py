"""Build, tag and push the app image, versioned by the chart's appVersion.

    scripts/build-image [--version 1.5.0] [--push] [--base-image IMAGE] [--dry-run]

Builds `registry-qcc.quantil.com/oe-tools/dummy-flask-app:<version>` from the repo's
Dockerfile. Pushing needs a `docker login` to the registry first; the check is made before
anything is built, so a missing login costs no build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from harness.chart.render import CHART_DIR
from harness.core.tools import ROOT
from harness.ops import cli

REPOSITORY = "registry-qcc.quantil.com/oe-tools/dummy-flask-app"
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")


class ImageError(cli.OperatorError):
    """The image cannot be built or pushed; the message says what to do."""


def app_version() -> str:
    return str(yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"])


def registry_of(repository: str) -> str:
    return repository.split("/", 1)[0]


def build_commands(
    version: str,
    *,
    repository: str = REPOSITORY,
    push: bool = False,
    base_image: str | None = None,
) -> list[list[str]]:
    """The docker commands that build (and push) `repository:version`."""
    if not _VERSION.match(version):
        raise ImageError(f"--version: {version!r} is not a version like 1.5.0")
    image = f"{repository}:{version}"
    build = ["docker", "build", "--build-arg", f"VERSION={version}", "--tag", image]
    if base_image:
        build += ["--build-arg", f"BASE_IMAGE={base_image}"]
    commands = [[*build, str(ROOT)]]
    if push:
        commands.append(["docker", "push", image])
    return commands


def check_docker(path: str | None = None) -> None:
    if shutil.which("docker", path=path) is None:
        raise ImageError("docker is not on PATH; install Docker Engine to build the image.")


def check_login(registry: str, environ: Mapping[str, str] = os.environ) -> None:
    """Fail unless docker has credentials (or a credential helper) for `registry`."""
    config_dir = Path(environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    config_file = config_dir / "config.json"
    try:
        config = json.loads(config_file.read_text())
    except FileNotFoundError:
        config = {}
    except json.JSONDecodeError as error:
        raise ImageError(f"{config_file} is not valid JSON ({error}); fix or remove it.") from None
    has_credentials = registry in config.get("auths", {}) or registry in config.get(
        "credHelpers", {}
    )
    # A global credential store may hold the login; only docker itself can tell.
    if has_credentials or config.get("credsStore"):
        return
    raise ImageError(
        f"docker is not logged in to {registry} (no entry in {config_file}); "
        f"run `docker login {registry}` first."
    )


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.image")
    parser = argparse.ArgumentParser(prog=name, description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="image tag (default: the chart's appVersion)")
    parser.add_argument("--repository", default=REPOSITORY)
    parser.add_argument("--push", action="store_true", help="push after building")
    parser.add_argument("--base-image", help="another Debian-based Python image to build on")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)

    def build() -> None:
        commands = build_commands(
            args.version or app_version(),
            repository=args.repository,
            push=args.push,
            base_image=args.base_image,
        )
        if args.dry_run:
            for command in commands:
                print(" ".join(command))
            return
        check_docker()
        if args.push:
            check_login(registry_of(args.repository))
        for command in commands:
            print("+", " ".join(command), flush=True)
            # Streamed rather than captured: a build's progress is what the operator watches.
            # BuildKit, because the Dockerfile mounts an optional pip CA bundle as a secret.
            done = subprocess.run(command, env={**os.environ, "DOCKER_BUILDKIT": "1"}, check=False)
            if done.returncode != 0:
                raise ImageError(f"`{' '.join(command)}` failed with exit code {done.returncode}.")

    return cli.run_main(name, build)


if __name__ == "__main__":
    sys.exit(main())
