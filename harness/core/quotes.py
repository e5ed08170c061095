"""Numbers that hand-written pages quote from the measurement records in docs/.

A generated page (docs/ipool.md, …) is rendered from its record (docs/ipool.json, …), so it
cannot drift. A hand-written page that quotes one of those numbers marks the quote with an
anchor right after it, naming the record and the field:

    took 11.6 s<!-- ipool.json: outcomes[key=switch-helm].measurement.zero_ready_seconds -->

The path walks the record: `.name` takes a key, `[3]` an item of a list, `[key=value]` the
item of a list whose `key` is `value`. The quoted number must equal the field rounded to as
many decimals as the quote shows.

What counts as a quote needs no list: a block (a paragraph, or a table) that links to a
generated page, and a table right after such a paragraph, quotes that page's numbers; there,
every number with a unit of time or rate (`s`, `ms`, `min`, `req/s`) outside code spans must
carry an anchor. Settings (`--timeout 10m`, "expires after 30 s") belong in code spans or
away from such blocks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANCHOR = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>\s?[a-z/]*)<!-- (?P<record>[\w.-]+\.json): "
    r"(?P<path>[^>]+?) -->"
)
MEASURED = re.compile(r"(?<![\w.])[0-9]+(?:\.[0-9]+)?\s?(?:s|ms|min|req/s)\b")
CODE_SPAN = re.compile(r"`[^`]*`")
LINK = re.compile(r"\]\(([^)#]+)")
SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


@dataclass(frozen=True)
class Quote:
    page: Path
    line: int
    number: str
    record: str
    path: str


def quotes(page: Path) -> list[Quote]:
    """Every anchored number of `page`."""
    found = []
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        for match in ANCHOR.finditer(line):
            found.append(
                Quote(page, number, match["number"], match["record"], match["path"].strip())
            )
    return found


def field(record: Any, path: str) -> Any:
    """The value at `path` (module doc) in `record`."""
    value = record
    for name, selector in SEGMENT.findall(path):
        if name:
            value = value[name]
        elif selector.isdigit():
            value = value[int(selector)]
        else:
            key, _, wanted = selector.partition("=")
            matches = [item for item in value if str(item.get(key)) == wanted]
            if len(matches) != 1:
                raise KeyError(f"{len(matches)} items with {key}={wanted} at {path!r}")
            value = matches[0]
    return value


def disagreement(quote: Quote, records: Path) -> str | None:
    """None when `quote` equals its field as rounded, else what is wrong."""
    where = f"{quote.page.name}:{quote.line}"
    try:
        value = field(json.loads((records / quote.record).read_text()), quote.path)
    except (OSError, KeyError, IndexError, TypeError, ValueError) as error:
        return f"{where}: {quote.record} {quote.path}: {error}"
    decimals = len(quote.number.partition(".")[2])
    recorded = f"{float(value):.{decimals}f}"
    if recorded != quote.number:
        return f"{where}: quotes {quote.number}, but {quote.record} {quote.path} is {recorded}"
    return None


def unanchored(page: Path, generated: set[str]) -> list[str]:
    """Numbers with a unit of time or rate, in the blocks of `page` that quote a generated
    page (module doc), that carry no anchor."""
    blocks = re.split(r"\n\s*\n", page.read_text())
    found, citing = [], False
    for block in blocks:
        links = {Path(target).name for target in LINK.findall(block)}
        is_table = block.lstrip().startswith("|")
        citing = bool(links & generated) or (is_table and citing)
        if not citing or block.lstrip().startswith("```"):
            continue
        for line in block.splitlines():
            prose = CODE_SPAN.sub("", ANCHOR.sub("", line))
            found += [
                f"{page.name}: {m[0]!r} in {line.strip()[:80]!r}" for m in MEASURED.finditer(prose)
            ]
    return found


def generated_pages(records: Path) -> set[str]:
    """The names of the pages rendered from a record: those with a .json next to them."""
    return {record.with_suffix(".md").name for record in records.glob("*.json")}
