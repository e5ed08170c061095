"""The sha256 of every Python distribution set-up may install, written next to its pin.

    python -m harness.toolchain.pins          # rewrite the hashes of every requirements file
    python -m harness.toolchain.pins --check  # exit 1 when a pin has no hash

Each `name==version` line of the requirements files is followed by one `--hash=sha256:…` line
per file of that release that pip could pick on Linux x86_64 with CPython 3.11: the sdist,
and every wheel for any platform, manylinux or plain linux x86_64, whose tags fit CPython 3.11.
pip then installs in hash-checking mode (`--require-hashes`): a file whose bytes differ from
every pinned hash is refused, whatever the index serves. The hashes are the ones pip's
configured index publishes in its JSON listing of each project (PEP 691); nothing is
downloaded but that listing.
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import urllib.request
from collections.abc import Iterable, Mapping, Sequence

from harness.core.proc import run
from harness.core.tools import ROOT

FILES = tuple(
    ROOT / path
    for path in (
        "requirements/scripts.txt",
        "requirements/dev.txt",
        "requirements/checkov.txt",
        "app/requirements.txt",
    )
)
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+?)\s*(?:\\)?$")
HASH_LINE = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}\s*\\?$")
PYTHON = (3, 11)
# The platforms of this machine's kind; musllinux and other CPUs are left out.
PLATFORM = re.compile(r"any|linux_x86_64|manylinux(1|2010|2014|_\d+_\d+)_x86_64")
INDEX_TIMEOUT_S = 120.0


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> list[tuple[str, str]]:
    """The (name, version) pins of a requirements file's text."""
    return [(m.group(1), m.group(2)) for line in text.splitlines() if (m := PIN.match(line))]


def unhashed(text: str) -> list[str]:
    """The pins of a requirements file's text that no --hash line follows."""
    lines = text.splitlines()
    return [
        line
        for index, line in enumerate(lines)
        if PIN.match(line) and not (index + 1 < len(lines) and HASH_LINE.match(lines[index + 1]))
    ]


def installable(files: Iterable[Mapping], name: str, version: str) -> list[str]:
    """The sha256 of each file in a PEP 691 listing that pip could install as name==version
    on this machine's kind, sorted."""
    # packaging comes with dev.txt; the scripts' venv imports this module without it.
    from packaging.tags import compatible_tags, cpython_tags
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import Version

    python_abis = {
        (tag.interpreter, tag.abi)
        for tag in [*cpython_tags(PYTHON, platforms=["any"]), *compatible_tags(PYTHON, "cp311")]
    }
    wanted = (canonicalize_name(name), Version(version))
    found = set()
    for file in files:
        filename = file["filename"]
        try:
            if filename.endswith(".whl"):
                project, release, _, tags = parse_wheel_filename(filename)
                fits = any(
                    (tag.interpreter, tag.abi) in python_abis and PLATFORM.fullmatch(tag.platform)
                    for tag in tags
                )
            else:
                project, release = parse_sdist_filename(filename)
                fits = True
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        if fits and (project, release) == wanted and "sha256" in file.get("hashes", {}):
            found.add(file["hashes"]["sha256"])
    return sorted(found)


def _pip_config() -> dict[str, str]:
    """pip's configuration as `pip config list` shows it, key -> value (the environment's
    settings win)."""
    listed = run([sys.executable, "-m", "pip", "config", "list"]).stdout.splitlines()
    config: dict[str, str] = {}
    for line in sorted(listed, key=lambda line: line.startswith(":env:")):
        key, _, value = line.partition("=")
        config[key.rpartition(".")[2]] = value.strip("'\"")
    return config


def published_hashes(pinned: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """name -> the hashes of its installable files, from the JSON listing of pip's index."""
    config = _pip_config()
    index = config.get("index-url")
    if index is None:
        from pip._internal.models.index import PyPI  # the index pip uses when none is set

        index = PyPI.simple_url
    context = ssl.create_default_context(cafile=config.get("cert"))
    found = {}
    for name, version in pinned:
        request = urllib.request.Request(
            f"{index.rstrip('/')}/{_normal(name)}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT_S, context=context) as answer:
            files = json.load(answer)["files"]
        found[_normal(name)] = installable(files, name, version)
        if not found[_normal(name)]:
            raise LookupError(f"{index} lists no file of {name}=={version} for this machine")
    return found


def with_hashes(text: str, hashes: Mapping[str, Sequence[str]]) -> str:
    """`text` with each pin followed by its hash lines (old hash lines replaced)."""
    out = []
    for line in text.splitlines():
        if HASH_LINE.match(line):
            continue
        match = PIN.match(line)
        if match:
            name, version = match.groups()
            out.append(f"{name}=={version} \\")
            out += [f"    --hash=sha256:{digest} \\" for digest in hashes[_normal(name)]]
            out[-1] = out[-1].removesuffix(" \\")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which pins lack a hash")
    args = parser.parse_args(argv)
    if args.check:
        missing = [(path, line) for path in FILES for line in unhashed(path.read_text())]
        for path, line in missing:
            print(f"{path.relative_to(ROOT)}: no hash for {line}")
        return 1 if missing else 0
    for path in FILES:
        text = path.read_text()
        hashes = published_hashes(pins(text))
        path.write_text(with_hashes(text, hashes))
        count = sum(map(len, hashes.values()))
        print(f"{path.relative_to(ROOT)}: {count} hashes for {len(hashes)} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
