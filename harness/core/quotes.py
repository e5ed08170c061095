"""Numbers that hand-written pages quote from the measurement records in docs/.

A generated page (docs/ipool.md, …) is rendered from its record (docs/ipool.json, …), so it
cannot drift. A hand-written page (every other .md of the project) that quotes one of those
numbers marks the quote with an anchor right after the number and its unit, naming the record
and the field:

    took 11.6 s<!-- ipool.json: outcomes[key=switch-helm].measurement.zero_ready_seconds -->

The path walks the record's JSON: `.name` takes a key, `[3]` an item of a list, `[key=value]`
the one item of a list whose `key` is `value`, `[kind=Deployment&pre_stop_sleep_seconds=5]`
the one item that has both. The quoted number must equal the field formatted with as many
decimals as the quote shows (`f"{value:.1f}"` for `11.6`, `.0f` for `98`). A figure the
record does not hold (a median of rounds, a ratio) is not quoted: link the page that shows it.

Which numbers must carry an anchor needs no list of quotes. A number quotes a measurement
when it has a unit of time, rate, size or share (`s`, `ms`, `min`, `minutes`, `seconds`,
`req/s`, `requests/s`, `KiB`, `MiB`, `GiB`, `%`, `x`, `times`) and stands in a passage that
names a generated page or its record (`ipool.md`, `docs/ipool.json`, as a link, in a code span
or plain). A passage is a paragraph, one item of a list or one row of a table; a list or
table right after a paragraph that names such a page is part of that paragraph's passage (the
paragraph introduces it). Fenced code blocks are output and commands, never quotes.

Settings are not measurements: a number inside a code span (`--timeout 10m`, `30s`) is never a
quote, nor a phrase of SETTINGS (Kubernetes' defaults, written in prose). A passage that names
no generated page may state settings and figures of its own freely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.tools import ROOT

ANCHOR = re.compile(
    r"(?<![\w.])(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>\s?(?:%|[A-Za-z/]+))?"
    r"<!-- (?P<record>[\w.-]+\.json): (?P<path>[^>]+?) -->"
)
ANCHOR_COMMENT = re.compile(r"<!-- [\w.-]+\.json:")
MEASURED = re.compile(
    r"(?<![\w.])[0-9]+(?:\.[0-9]+)?"
    r"(?:\s?(?:ms|min|minutes|seconds|s|req/s|requests/s|KiB|MiB|GiB|times)|%|x)(?![\w/])"
)
SETTINGS = ("25% surge", "25% unavailable")
CODE_SPAN = re.compile(r"`[^`]*`")
SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")
LIST_ITEM = re.compile(r"\s*(?:[-*+]|[0-9]+\.)\s")


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
            wanted = [condition.partition("=")[::2] for condition in selector.split("&")]
            matches = [item for item in value if all(str(item.get(k)) == v for k, v in wanted)]
            if len(matches) != 1:
                raise KeyError(f"{len(matches)} items with {selector} at {path!r}")
            value = matches[0]
    return value


def disagreement(quote: Quote, records: Path) -> str | None:
    """None when `quote` equals its field as rounded, else what is wrong."""
    where = f"{_label(quote.page)}:{quote.line}"
    try:
        value = field(json.loads((records / quote.record).read_text()), quote.path)
        decimals = len(quote.number.partition(".")[2])
        recorded = f"{float(value):.{decimals}f}"
    except (OSError, KeyError, IndexError, TypeError, ValueError) as error:
        return f"{where}: {quote.record} {quote.path}: {error!r}"
    if recorded != quote.number:
        return f"{where}: quotes {quote.number}, but {quote.record} {quote.path} is {recorded}"
    return None


def stray_anchors(page: Path) -> list[str]:
    """Anchors that follow no number (a space before `<!--`, a missing number): they would
    check nothing, so they are reported."""
    found = []
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        if len(ANCHOR_COMMENT.findall(line)) != len(ANCHOR.findall(line)):
            found.append(f"{_label(page)}:{number}: an anchor follows no number: {line.strip()}")
    return found


def unanchored(page: Path, generated: set[str]) -> list[str]:
    """Numbers with a unit, in the passages of `page` that name a generated page or its
    record (module doc), that carry no anchor: `page:line: '11.6 s' in <the line>`."""
    found = []
    for passage in _citing_passages(page.read_text(), generated):
        for number, line in passage:
            prose = CODE_SPAN.sub("", ANCHOR.sub("", line))
            for setting in SETTINGS:
                prose = prose.replace(setting, "")
            found += [
                f"{_label(page)}:{number}: {m[0]!r} has no anchor in: {line.strip()}"
                for m in MEASURED.finditer(prose)
            ]
    return found


def generated_pages(records: Path) -> set[str]:
    """The names of the pages rendered from a record (those with a .json next to them), and
    of their records."""
    found = set()
    for record in records.glob("*.json"):
        if record.with_suffix(".md").exists():
            found |= {record.name, record.with_suffix(".md").name}
    return found


def hand_written_pages(root: Path, generated: set[str]) -> list[Path]:
    """Every .md under `root` but the generated ones, outside hidden directories (.tools,
    .git)."""
    return sorted(
        page
        for page in root.rglob("*.md")
        if page.name not in generated
        and not any(part.startswith(".") for part in page.relative_to(root).parts)
    )


Line = tuple[int, str]


def _label(page: Path) -> str:
    """`page` as the project names it (charts/dummy-flask-app/README.md), else its name."""
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name


def _citing_passages(text: str, generated: set[str]) -> Iterator[list[Line]]:
    """The passages (module doc) of `text` that name a page or record of `generated`."""
    names = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(name) for name in sorted(generated)) + r")(?!\.?\w)"
    )
    introduced = False  # the last paragraph named a generated page
    for block in _blocks(text):
        first = block[0][1].lstrip()
        if first.startswith(("```", "~~~")):
            introduced = False
            continue
        is_table = first.startswith("|")
        is_list = bool(LIST_ITEM.match(block[0][1]))
        if (is_table or is_list) and introduced:
            yield block
            continue
        passages = [[line] for line in block] if is_table else _items(block) if is_list else [block]
        citing = [p for p in passages if generated and names.search(" ".join(t for _, t in p))]
        yield from citing
        # A paragraph is its own one passage: whether it named a page was just found.
        introduced = not (is_table or is_list) and bool(citing)


def _blocks(text: str) -> Iterator[list[Line]]:
    """Runs of lines between blank lines; a fenced code block is one run, blank lines and
    all."""
    block: list[Line] = []
    fence = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if fence:
            block.append((number, line))
            if stripped.startswith(fence):
                yield block
                block, fence = [], ""
            continue
        if stripped.startswith(("```", "~~~")):
            if block:
                yield block
            block, fence = [(number, line)], stripped[:3]
            continue
        if not stripped:
            if block:
                yield block
            block = []
            continue
        block.append((number, line))
    if block:
        yield block


def _items(block: list[Line]) -> list[list[Line]]:
    """A list block split into its items (an item's continuation lines stay with it)."""
    items: list[list[Line]] = []
    for number, line in block:
        if LIST_ITEM.match(line) or not items:
            items.append([])
        items[-1].append((number, line))
    return items
