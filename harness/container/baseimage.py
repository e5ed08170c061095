"""A Python base image made from Debian packages, for builds on machines that cannot pull.

The Dockerfile's default base is the public slim Python image; here no registry serves
images, so `ensure_base_image()` debootstraps Debian bookworm with python3 and python3-venv
from the machine's own apt mirror, keeps the root filesystem as a tarball in .tools/cache,
and imports it into the engine when the engine lacks it (a new data root, say). The image
name has no `localhost/` prefix: BuildKit would try to pull that from a registry.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from harness.container.engine import DOCKER, Engine
from harness.core.proc import CommandError, run
from harness.core.tools import TOOLS_DIR

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv")
CACHE_DIR = TOOLS_DIR / "cache"
APT_SOURCES = Path("/etc/apt")
DEBOOTSTRAP = Path("/usr/sbin/debootstrap")
DEBOOTSTRAP_TIMEOUT_S = 1800.0
IMPORT_TIMEOUT_S = 300.0

# Nothing in the image reads these; dropping them halves the tarball and the import time.
_TRIM = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
)


class BaseImageError(Exception):
    """The base image cannot be made; the message says why."""


def _recipe_digest() -> str:
    # A change of suite, packages or trimming makes a new tarball and a new image tag.
    recipe = "\n".join([SUITE, *PACKAGES, *_TRIM])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


BASE_IMAGE = f"dummy-flask-app-python-base:{SUITE}-{_recipe_digest()}"
TARBALL = CACHE_DIR / f"python-base-{SUITE}-{_recipe_digest()}.tar.gz"


def _deb822_mirrors(text: str, suite: str) -> Iterable[str]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split():
            yield from fields.get("uris", "").split()


def _one_line_mirrors(text: str, suite: str) -> Iterable[str]:
    for line in text.splitlines():
        # deb [options] URI suite component...
        match = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if match and match.group(2) == suite:
            yield match.group(1)


def debian_mirror(suite: str = SUITE, apt_dir: Path = APT_SOURCES) -> str:
    """The first archive URI this machine's apt sources use for `suite` (not its -updates)."""
    one_line = [apt_dir / "sources.list", *sorted(apt_dir.glob("sources.list.d/*.list"))]
    deb822 = sorted(apt_dir.glob("sources.list.d/*.sources"))
    for path in one_line + deb822:
        if not path.is_file():
            continue
        parse = _deb822_mirrors if path.suffix == ".sources" else _one_line_mirrors
        for uri in parse(path.read_text(), suite):
            return uri
    raise BaseImageError(f"no apt source for {suite} in {apt_dir}/sources.list*")


def build_tarball(destination: Path = TARBALL, mirror: str | None = None) -> float:
    """Debootstrap the root filesystem and pack it into `destination`; returns seconds taken."""
    if not DEBOOTSTRAP.exists():
        raise BaseImageError(f"{DEBOOTSTRAP} is missing; run `make setup` (Debian debootstrap)")
    mirror = mirror or debian_mirror()
    start = time.monotonic()
    destination.parent.mkdir(parents=True, exist_ok=True)
    # On the same file system as the cache, so the finished tarball is renamed into place.
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=destination.parent) as scratch:
        rootfs = Path(scratch) / "rootfs"
        command = [
            str(DEBOOTSTRAP),
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            mirror,
        ]
        try:
            run(command, timeout=DEBOOTSTRAP_TIMEOUT_S)
        except CommandError as error:
            raise BaseImageError(f"{error}\n\ndebootstrap of {SUITE} failed") from error
        for relative in _TRIM:
            shutil.rmtree(rootfs / relative, ignore_errors=True)
        partial = Path(scratch) / destination.name
        run(["tar", "--numeric-owner", "-C", rootfs, "-czf", partial, "."])
        partial.rename(destination)
    return time.monotonic() - start


def has_image(engine: Engine, image: str) -> bool:
    return engine.docker("image", "inspect", image, check=False).returncode == 0


def ensure_base_image(engine: Engine, *, log: bool = True) -> str:
    """The base image's name, importing it (and building its tarball) when missing."""
    if has_image(engine, BASE_IMAGE):
        return BASE_IMAGE
    if not TARBALL.exists():
        if log:
            print(f"debootstrapping {SUITE} with {', '.join(PACKAGES)} ...", flush=True)
        seconds = build_tarball()
        if log:
            print(f"base root filesystem built in {seconds:.0f} s: {TARBALL}", flush=True)
    with TARBALL.open("rb") as tarball:
        # `docker import -` reads the tarball from stdin; run() only passes text, so Popen.
        done = subprocess.run(
            [str(DOCKER), "import", "--change", "ENV LANG=C.UTF-8", "-", BASE_IMAGE],
            stdin=tarball,
            capture_output=True,
            text=True,
            env=engine.env(),
            timeout=IMPORT_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        raise BaseImageError(f"docker import of {TARBALL} failed:\n{done.stderr}")
    return BASE_IMAGE
