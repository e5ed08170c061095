"""A measured run kept as JSON next to the page rendered from it.

`make ipool-docs` and `make bench` each measure once and write two files: the record
(`<page>.json`, every figure and setting of the run) and the page (`<page>.md`), rendered
from the record as read back, so the page is exactly what its record renders and can be
rendered again, after a change of wording, without measuring again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from harness.core.proc import run

R = TypeVar("R")


@dataclass(frozen=True)
class Machine:
    """The host a run measured on."""

    cores: int
    memory_gib: float
    kernel: str
    load_average: float  # the 1-minute average when the run started
    cpu: str = ""  # the CPU's model name; records made before it was kept have none


def this_machine() -> Machine:
    """This host, now."""
    meminfo = Path("/proc/meminfo").read_text().split()
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return Machine(
        cores=os.cpu_count() or 1,
        memory_gib=int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2,
        kernel=platform.release(),
        load_average=os.getloadavg()[0],
        cpu=cpu or platform.processor() or platform.machine(),
    )


def chart_state(chart_dir: Path) -> str:
    """What a record measured, as its page names it: the chart's version and the commit the
    tree is at (`0.8.0 at commit 4f546a5`), `, modified` when the chart differs from it."""
    version = yaml.safe_load((chart_dir / "Chart.yaml").read_text())["version"]
    git = ["git", "-C", str(chart_dir)]
    head = run([*git, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    modified = run([*git, "status", "--porcelain", "--", "."], check=False).stdout.strip()
    at = f"commit {head}" if head else "no git commit"
    return f"{version} at {at}" + (", modified" if modified else "")


def to_json(record: Any) -> str:
    """A dataclass record as the JSON text kept in docs/."""
    return json.dumps(asdict(record), indent=2, ensure_ascii=False) + "\n"


def write(page: Path, record: R, load: Callable[[str], R], render: Callable[[R], str]) -> Path:
    """Write `record` next to `page` (.json), then `page` from the record as read back."""
    recorded = page.with_suffix(".json")
    recorded.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_text(to_json(record))
    page.write_text(render(load(recorded.read_text())))
    return recorded


def render_next_to(
    recorded: Path, load: Callable[[str], Any], render: Callable[[Any], str]
) -> Path:
    """Render the page next to a record (same name, .md) from the record alone."""
    page = recorded.with_suffix(".md")
    page.write_text(render(load(recorded.read_text())))
    return page


def add_output_arguments(
    parser: argparse.ArgumentParser, flag: str, default: Path | None, needs: str
) -> None:
    """`flag PAGE` (measure, write the record and the page) or `--render RECORD` (only render)."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        flag,
        type=Path,
        default=default,
        metavar="PAGE",
        help="write the page, and the run's record next to it (.json)",
    )
    output.add_argument(
        "--render",
        type=Path,
        metavar="RECORD",
        help=f"only render the page next to RECORD (a run's .json); no {needs}",
    )
