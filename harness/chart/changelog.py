"""The chart's CHANGELOG.md, read: each version's entries, and the `artifacthub.io/changes`
annotation they make for the newest.

A version is a `## <version>` heading; an entry is a `- <Kind>: <text>` item under it (its
text may wrap onto indented lines). The kinds are Artifact Hub's.
"""

from __future__ import annotations

import re
from pathlib import Path

KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
_HEADING = re.compile(r"^## (\S+)\s*$")
_ENTRY = re.compile(rf"^- ({'|'.join(KINDS)}): (.+)$")


class ChangelogError(ValueError):
    """The changelog does not read as the module doc says; the message names the line."""


def read(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Version -> its entries as (kind, text), in the file's order."""
    versions: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if heading := _HEADING.match(line):
            current = versions.setdefault(heading.group(1), [])
        elif line.startswith("- ") and current is not None:
            entry = _ENTRY.match(line)
            if entry is None:
                raise ChangelogError(
                    f"{path.name}:{number}: an entry starts with one of {', '.join(KINDS)}"
                    f" and a colon, not {line[:40]!r}"
                )
            current.append((entry.group(1), entry.group(2)))
        elif line.startswith("  ") and current:
            kind, text = current[-1]
            current[-1] = (kind, f"{text} {line.strip()}")
    return versions


def changes_annotation(entries: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The `artifacthub.io/changes` list for one version's entries."""
    return [{"kind": kind.lower(), "description": text} for kind, text in entries]
