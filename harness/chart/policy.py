"""Policy checkers over the rendered chart: kube-score and checkov, offline, in JSON.

The chart is rendered with the pinned helm, with its defaults and with every
ci/*-values.yaml, and both checkers score the rendered YAML (checkov never calls helm
itself). `findings()` returns one `Finding` per thing a checker flags. The chart README's
"## Policy checkers" section lists the deliberate ones, one line each with its reason
(`listed()`); tests/lint/test_policy_checkers.py keeps the two equal.

    python -m harness.chart.policy    # the findings table; exit 1 when it and the README differ

Both run offline: kube-score never uses the network, and checkov is run without an API key,
with `--skip-download`, `BC_SKIP_MAPPING` (no guidelines or check-id mapping fetched) and
`CKV_SKIP_PACKAGE_UPDATE_CHECK` (no look-up of a newer checkov), so it makes no connection.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from harness.chart.render import CHART_DIR, ci_values_files, helm_chart_args
from harness.core.proc import CommandError, ExternalError, run
from harness.core.tools import ToolError, tool_path

README_FILE = CHART_DIR / "README.md"
SECTION = "## Policy checkers"
CHECKERS = ("kube-score", "checkov")
DEFAULT_RENDER = "defaults"
# The Kubernetes the project's pinned control plane and Helm 3 build assume; kube-score's
# own default (1.18) would judge apiVersions by a release long out of support.
KUBERNETES_VERSION = "v1.37"
# kube-score grades: 1 critical, 5 warning, 7 almost OK, 10 OK. Warnings count as findings.
KUBE_SCORE_WORST_OK_GRADE = 7
KUBE_SCORE_ARGS = (
    "score",
    "--output-format",
    "json",
    "--kubernetes-version",
    KUBERNETES_VERSION,
    # A `kube-score/ignore` annotation in the chart would hide a finding from the README's list.
    "--disable-ignore-checks-annotations",
)
# Not --quiet: it would leave out the checks a `checkov.io/skip` annotation suppressed, too.
CHECKOV_ARGS = (
    "--framework",
    "kubernetes",
    "--output",
    "json",
    "--skip-download",
    "--skip-results-upload",
)
CHECKOV_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "LOG_LEVEL": "WARNING",
}
# Settings of checkov's that the caller's environment must not bring in (an API key, a
# platform URL, a skip list).
CHECKOV_ENV_PREFIXES = ("BC_", "CKV_", "CHECKOV_", "PRISMA_")
CHECKER_TIMEOUT_S = 300.0
_CONTAINER_KEY = re.compile(r"\b(initContainers|containers)/\[(\d+)\]")
_LISTED_LINE = re.compile(r"^- (?P<checker>[\w-]+) `(?P<check>[^`]+)`: (?P<reason>\S.*)$")


class PolicyError(ExternalError):
    """A checker crashed, printed no usable output, or the README's list cannot be read."""


@dataclass(frozen=True, order=True)
class Finding:
    """One thing a checker flagged in one render."""

    checker: str  # "kube-score" or "checkov"
    check: str  # the checker's id of the check
    kind: str
    name: str
    container: str  # "" when the check is about the object or its pod as a whole
    render: str  # "defaults", or the ci values file's name
    message: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.checker, self.check)

    @property
    def object(self) -> str:
        where = f"{self.kind}/{self.name}"
        return f"{where} container {self.container}" if self.container else where


@dataclass(frozen=True)
class Render:
    """The chart rendered with one set of values: its name and its YAML text."""

    name: str
    text: str

    @cached_property
    def documents(self) -> list[tuple[int, int, dict[str, Any]]]:
        """(first line, last line, object) of each YAML document, lines counted from 1."""
        found = []
        lines = self.text.splitlines()
        start = 0
        for index in range(len(lines) + 1):
            if index == len(lines) or lines[index].rstrip() == "---":
                doc = yaml.safe_load("\n".join(lines[start:index])) if index > start else None
                if isinstance(doc, dict):
                    found.append((start + 1, index, doc))
                start = index + 1
        return found


def render_chart(
    name: str = DEFAULT_RENDER,
    values_files: Sequence[str | Path] = (),
    set: Mapping[str, object] | None = None,
) -> Render:
    """The chart rendered by the pinned helm (`helm template`), as YAML text."""
    args = helm_chart_args(values_files=values_files, set=set)
    return Render(name, run([tool_path("helm"), *args]).stdout)


def chart_renders() -> list[Render]:
    """The chart with its defaults and with each ci/*-values.yaml."""
    renders = [render_chart()]
    renders += [render_chart(path.name, [path]) for path in ci_values_files()]
    return renders


def _parse_json(
    done: subprocess.CompletedProcess[str], checker: str, ok_codes: Iterable[int]
) -> Any:
    """A checker's JSON output; PolicyError with its stderr when it crashed."""
    try:
        if done.returncode not in ok_codes:
            raise ValueError(f"exit code {done.returncode}")
        return json.loads(done.stdout)
    except ValueError as error:
        raise PolicyError(
            f"{checker} failed ({error}): {' '.join(map(str, done.args))}\n"
            f"--- stderr ---\n{done.stderr.rstrip()}\n--- stdout ---\n{done.stdout[:2000].rstrip()}"
        ) from None


def _run(
    args: Sequence[str | Path], checker: str, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    try:
        return run(args, check=False, timeout=CHECKER_TIMEOUT_S, **kwargs)
    except CommandError as error:  # timed out
        raise PolicyError(f"{checker} did not finish:\n{error}") from None


def kube_score(render: Render, binary: Path | None = None) -> list[Finding]:
    """kube-score's findings (grade warning or worse) in one render.

    kube-score exits 1 when it finds something critical; that is a result, not a crash.
    """
    binary = binary or tool_path("kube-score")
    done = _run([binary, *KUBE_SCORE_ARGS, "-"], "kube-score", input=render.text)
    scored = _parse_json(done, "kube-score", ok_codes=(0, 1))
    if not isinstance(scored, list) or not scored:
        raise PolicyError(
            f"kube-score scored no objects in the {render.name} render:\n{done.stderr.rstrip()}"
        )
    found = []
    for scored_object in scored:
        kind = scored_object["type_meta"]["kind"]
        name = scored_object["object_meta"]["name"]
        for result in scored_object["checks"]:
            if result["skipped"] or result["grade"] >= KUBE_SCORE_WORST_OK_GRADE:
                continue
            check = result["check"]["id"]
            for comment in result["comments"] or [{"path": "", "summary": ""}]:
                found.append(
                    Finding(
                        "kube-score",
                        check,
                        kind,
                        name,
                        comment.get("path", ""),
                        render.name,
                        comment.get("summary") or result["check"]["name"],
                    )
                )
    return sorted(set(found))


def checkov_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CHECKOV_ENV_PREFIXES)}
    env.update(CHECKOV_ENV)
    return env


def checkov(renders: Sequence[Render], binary: Path | None = None) -> list[Finding]:
    """checkov's findings in the renders (one run over all of them, it takes seconds to start).

    A check suppressed by a `checkov.io/skip` annotation in the chart counts as a finding,
    so that the README stays the one list of deliberate findings.
    """
    binary = binary or tool_path("checkov")
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        files = {}
        for number, render in enumerate(renders):
            path = Path(scratch) / f"{number}.yaml"
            path.write_text(render.text)
            files[str(path)] = render
        args = [binary, *CHECKOV_ARGS, *[arg for path in files for arg in ("--file", path)]]
        # Its own folder as working directory: no .checkov.yaml of the caller's is read.
        done = _run(args, "checkov", env=checkov_env(), cwd=scratch)
        reports = _parse_json(done, "checkov", ok_codes=(0, 1))
    reports = reports if isinstance(reports, list) else [reports]
    objects = sum(len(render.documents) for render in renders)
    scanned = sum(report.get("summary", report).get("resource_count", 0) for report in reports)
    if scanned < objects:
        raise PolicyError(
            f"checkov scanned {scanned} objects of the {objects} rendered:\n{done.stderr.rstrip()}"
        )
    found = []
    for report in reports:
        results = report.get("results", {})
        for result in results.get("failed_checks", []) + results.get("skipped_checks", []):
            render = files[result["file_abs_path"]]
            found.append(_checkov_finding(result, render))
    return sorted(set(found))


def _checkov_finding(result: Mapping[str, Any], render: Render) -> Finding:
    """A checkov result, placed on the rendered object its line range starts in."""
    line = result["file_line_range"][0]
    matches = [doc for first, last, doc in render.documents if first <= line <= last]
    if not matches:
        raise PolicyError(f"checkov reported line {line} of the {render.name} render: {result}")
    doc = matches[0]
    container = ""
    outcome = result.get("check_result", {})
    message = result.get("check_name", "")
    if outcome.get("result") == "SKIPPED":
        message += f" (suppressed in the chart: {outcome.get('suppress_comment', '')})"
    keys = outcome.get("evaluated_keys") or []
    for key in keys:
        if match := _CONTAINER_KEY.search(key):
            spec = doc.get("spec", {})
            pod = spec["template"]["spec"] if "template" in spec else spec
            containers = pod.get(match.group(1)) or []
            index = int(match.group(2))
            if index < len(containers):
                container = containers[index].get("name", "")
            break
    return Finding(
        "checkov",
        result["check_id"],
        doc.get("kind", ""),
        doc.get("metadata", {}).get("name", ""),
        container,
        render.name,
        message,
    )


def findings(renders: Sequence[Render] | None = None) -> list[Finding]:
    """Both checkers' findings in `renders`, by default the chart's (`chart_renders()`)."""
    renders = chart_renders() if renders is None else renders
    found = [finding for render in renders for finding in kube_score(render)]
    found += checkov(renders)
    return sorted(found)


def listed(readme: str | None = None) -> dict[tuple[str, str], str]:
    """(checker, check id) -> reason, from the chart README's "## Policy checkers" section.

    Each deliberate finding is a line "- <checker> `<check id>`: <reason>"; any other line
    starting with "- " in the section is an error, so a typo cannot drop a finding silently.
    """
    text = README_FILE.read_text() if readme is None else readme
    heading = re.search(rf"^{re.escape(SECTION)}$", text, re.MULTILINE)
    if not heading:
        raise PolicyError(f"{README_FILE.name} has no {SECTION!r} section")
    section = re.split(r"^#{1,2} ", text[heading.end() :], maxsplit=1, flags=re.MULTILINE)[0]
    entries: dict[tuple[str, str], str] = {}
    for line in section.splitlines():
        if not line.startswith("- "):
            continue
        match = _LISTED_LINE.match(line)
        if not match or match["checker"] not in CHECKERS:
            raise PolicyError(
                f"{README_FILE.name}, {SECTION}: cannot read {line!r}; write"
                f" '- <{' or '.join(CHECKERS)}> `<check id>`: <reason>'"
            )
        key = (match["checker"], match["check"])
        if key in entries:
            raise PolicyError(f"{README_FILE.name}, {SECTION}: {key[0]} {key[1]} is listed twice")
        entries[key] = match["reason"]
    return entries


def table(found: Sequence[Finding], reasons: Mapping[tuple[str, str], str]) -> list[str]:
    """One line per finding: where, what, the checker's words, and whether the README lists it."""
    rows = [("RENDER", "CHECKER", "CHECK", "OBJECT", "CONTAINER", "FINDING", "README")]
    for f in sorted(found, key=lambda f: (f.render != DEFAULT_RENDER, f.render, f)):
        where = f"{f.kind}/{f.name}"
        in_readme = "listed" if f.key in reasons else "NOT LISTED"
        rows.append((f.render, f.checker, f.check, where, f.container, f.message, in_readme))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.chart.policy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    start = time.monotonic()
    try:
        found = findings()
    except (ExternalError, ToolError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        reasons = listed()
    except PolicyError as error:
        print(f"error: {error}", file=sys.stderr)
        reasons = {}
    print("\n".join(table(found, reasons)))
    seen = {finding.key for finding in found}
    unlisted = sorted(seen - set(reasons))
    stale = sorted(set(reasons) - seen)
    print(f"\n{len(found)} findings in {time.monotonic() - start:.1f} s", end="")
    print(f"; not listed: {len(unlisted)}; listed but no longer found: {len(stale)}")
    for checker, check in stale:
        print(f"listed but no longer found: {checker} {check}")
    return 1 if unlisted or stale else 0


if __name__ == "__main__":
    sys.exit(main())
