"""Debian packages the image tests, the node and the benchmark run, installed when missing.

    python -m harness.toolchain.debian install    # apt-get install what is missing
    python -m harness.toolchain.debian versions   # print the tested and the installed versions

Debian's archive keeps only the current version of a package, so an exact pin would break
the install at the next security update. The versions these tools were tested with are
recorded here and `versions` shows any drift.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from harness.core.proc import CommandError, run
from harness.toolchain.gotools import Installer, version_table

# Package -> the version the image tests and the benchmark were measured with.
PACKAGES: Mapping[str, str] = {
    # dockerd, containerd, runc and a client of the same API version (/usr/bin/docker).
    "docker.io": "20.10.24+dfsg1-1+deb12u1+b6",
    # Builds the Python base image from Debian packages; no image can be pulled here.
    "debootstrap": "1.0.128+nmu2+deb12u2",
    # The load generator of the tests and the benchmark.
    "wrk": "4.1.0-3+b2",
    # The local node's OCI runtime (containerd's shim runs it) and kube-proxy's rules.
    "runc": "1.1.5+ds1-1+deb12u1",
    "iptables": "1.8.9-2",
    # kube-router, the nodes' NetworkPolicy engine, keeps the peers a policy names in ipsets.
    "ipset": "7.17-1",
    # Signs and verifies chart releases (helm's provenance takes a GPG key).
    "gnupg": "2.2.40-1.1+deb12u2",
    # The image registry the local node pulls the app from (distribution, htpasswd auth).
    "docker-registry": "2.8.2+ds1-1",
}

APT_TIMEOUT_S = 1200.0


class PackageError(Exception):
    """A Debian package is missing and cannot be installed; the message says what to do."""


def installed_version(package: str) -> str | None:
    """The installed version of `package`, or None when dpkg does not list it as installed."""
    try:
        out = run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package]).stdout
    except (CommandError, OSError):
        return None
    status, _, version = out.partition("\t")
    return version if status == "install ok installed" else None


def missing_packages(packages: Sequence[str] = tuple(PACKAGES)) -> list[str]:
    return [package for package in packages if installed_version(package) is None]


def install(packages: Sequence[str] = tuple(PACKAGES)) -> None:
    missing = missing_packages(packages)
    if not missing:
        print(f"Debian packages: {', '.join(packages)} already installed")
        return
    if os.geteuid() != 0:
        raise PackageError(
            f"missing Debian packages {' '.join(missing)}; run as root, or "
            f"`apt-get install --no-install-recommends {' '.join(missing)}` first"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"apt-get install {' '.join(missing)} ...", flush=True)
    try:
        # A fresh machine may have no package lists at all.
        run(["apt-get", "update"], env=env, timeout=APT_TIMEOUT_S)
        run(
            ["apt-get", "install", "-y", "--no-install-recommends", *missing],
            env=env,
            timeout=APT_TIMEOUT_S,
        )
    except CommandError as error:
        raise PackageError(f"{error}\n\ninstalling {' '.join(missing)} failed") from error
    still_missing = missing_packages(missing)
    if still_missing:
        raise PackageError(f"apt-get ran but {' '.join(still_missing)} is still not installed")
    for line in version_lines(missing):
        print(line)


def version_lines(packages: Sequence[str] = tuple(PACKAGES)) -> list[str]:
    """One line per package: the tested version, and what is installed when it differs."""
    return version_table([(p, PACKAGES[p], installed_version(p)) for p in packages])


main = Installer(
    "harness.toolchain.debian", __doc__, install, version_lines, errors=(PackageError,)
).main


if __name__ == "__main__":
    sys.exit(main())
