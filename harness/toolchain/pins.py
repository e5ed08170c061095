"""The sha256 of every Python distribution set-up installs, written next to its pin.

    python -m harness.toolchain.pins          # rewrite the hashes of every requirements file
    python -m harness.toolchain.pins --check  # exit 1 when a pin has no hash

Each `name==version` line of the requirements files gets a `--hash=sha256:…` of the file pip
picks for this machine's kind (Linux x86_64, CPython 3.11), as the package index publishes
it. pip then installs in hash-checking mode: a file whose bytes differ from the pinned hash
is refused, whatever the index serves. The hashes come from `pip install --dry-run --report`,
which resolves against pip's configured index without installing anything.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

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


def resolved_hashes(requirements: Sequence[str]) -> dict[str, str]:
    """The sha256 of the file pip would install for each `name==version`, by name."""
    with tempfile.TemporaryDirectory(prefix="pins-") as folder:
        listed = Path(folder) / "requirements.txt"
        listed.write_text("\n".join(requirements) + "\n")
        report = Path(folder) / "report.json"
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--no-deps",
                "--quiet",
                "--disable-pip-version-check",
                "--report",
                str(report),
                "-r",
                str(listed),
            ],
            timeout=600,
        )
        installs = json.loads(report.read_text())["install"]
    return {
        _normal(item["metadata"]["name"]): item["download_info"]["archive_info"]["hashes"]["sha256"]
        for item in installs
    }


def with_hashes(text: str, hashes: Mapping[str, str]) -> str:
    """`text` with each pin followed by its hash line (old hash lines replaced)."""
    out = []
    for line in text.splitlines():
        if HASH_LINE.match(line):
            continue
        match = PIN.match(line)
        if match:
            name, version = match.groups()
            out += [f"{name}=={version} \\", f"    --hash=sha256:{hashes[_normal(name)]}"]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which pins lack a hash")
    args = parser.parse_args(argv)
    missing = {path: unhashed(path.read_text()) for path in FILES}
    if args.check:
        for path, lines in missing.items():
            for line in lines:
                print(f"{path.relative_to(ROOT)}: no hash for {line}")
        return 1 if any(missing.values()) else 0
    for path in FILES:
        text = path.read_text()
        hashes = resolved_hashes([f"{n}=={v}" for n, v in pins(text)])
        path.write_text(with_hashes(text, hashes))
        print(f"{path.relative_to(ROOT)}: {len(hashes)} hashes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
