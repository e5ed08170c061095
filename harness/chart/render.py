"""Render the chart with the pinned helm and find objects in the result.

`render()` runs `helm template` and returns the parsed documents as `Manifests`. Results are
cached per distinct command and values, because the same values set is rendered by many
tests (and a helm call costs ~60 ms). A failed render raises `RenderError`, whose text holds
the helm command line and its stderr.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.core.objects import Obj
from harness.core.proc import CommandError, run
from harness.core.tools import ROOT, tool_path

CHART_DIR = ROOT / "charts" / "dummy-flask-app"
CI_VALUES_DIR = CHART_DIR / "ci"
DEFAULT_RELEASE = "dummy-flask-app"
DEFAULT_NAMESPACE = "opseng"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


class RenderError(CommandError):
    """`helm template` refused the chart or the values; `stderr` says why."""

    @property
    def chart_message(self) -> str:
        """The sentence the chart's `fail` or schema check gave, without helm's framing."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        text = " ".join(line for line in lines if "--debug" not in line)
        return text.split("): ", 1)[-1] if "execution error" in text else text


class NotFound(LookupError):
    """No single object matched a lookup."""


@dataclass(frozen=True)
class Manifests:
    """The documents of one render, with lookups by kind and name."""

    documents: tuple[Obj, ...]

    def __iter__(self) -> Iterator[Obj]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def of_kind(self, kind: str) -> list[Obj]:
        return [doc for doc in self.documents if doc.get("kind") == kind]

    def get(self, kind: str, name: str | None = None) -> Obj:
        """The one object of `kind` (named `name`, when given); NotFound otherwise."""
        found = [
            doc for doc in self.of_kind(kind) if name is None or doc["metadata"]["name"] == name
        ]
        if len(found) != 1:
            present = ", ".join(f"{d.get('kind')}/{d['metadata']['name']}" for d in self.documents)
            wanted = f"{kind}/{name}" if name else kind
            raise NotFound(
                f"expected exactly one {wanted}, found {len(found)}; rendered: {present}"
            )
        return found[0]

    def find(self, kind: str, name: str) -> Obj | None:
        """The object of `kind` named `name`, or None."""
        for doc in self.of_kind(kind):
            if doc["metadata"]["name"] == name:
                return doc
        return None

    @property
    def workload(self) -> Obj:
        """The Deployment or StatefulSet that runs the app."""
        found = [doc for doc in self.documents if doc.get("kind") in WORKLOAD_KINDS]
        if len(found) != 1:
            raise NotFound(f"expected one Deployment or StatefulSet, found {len(found)}")
        return found[0]

    @property
    def pod_template(self) -> Obj:
        return self.workload["spec"]["template"]

    @property
    def app_container(self) -> Obj:
        return self.pod_template["spec"]["containers"][0]


_cache: dict[str, Manifests] = {}


def helm_chart_args(
    command: str = "template",
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    chart: Path = CHART_DIR,
    values_files: Sequence[str | Path] = (),
    set: Mapping[str, object] | None = None,
    set_string: Mapping[str, str] | None = None,
    kube_version: str | None = None,
) -> list[str]:
    """Arguments after the binary for `helm template|install|upgrade <release> <chart>`.

    Values are passed in the order helm merges them: files, then --set, then --set-string.
    """
    args = [command, release, str(chart), "--namespace", namespace]
    for path in values_files:
        args += ["--values", str(path)]
    for key, value in (set or {}).items():
        args += ["--set", f"{key}={_set_literal(value)}"]
    for key, value in (set_string or {}).items():
        args += ["--set-string", f"{key}={value}"]
    if kube_version:
        args += ["--kube-version", kube_version]
    return args


def render(
    values: Mapping[str, Any] | None = None,
    *,
    set: Mapping[str, object] | None = None,
    set_string: Mapping[str, str] | None = None,
    values_files: Sequence[str | Path] = (),
    kube_version: str | None = None,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    helm: Path | None = None,
) -> Manifests:
    """Render the chart; `values` is passed as a values file after `values_files`.

    Raises RenderError with the helm command and stderr when helm fails.
    """
    helm = helm or tool_path("helm")
    key = json.dumps(
        [
            str(helm),
            values,
            set,
            set_string,
            [str(p) for p in values_files],
            kube_version,
            release,
            namespace,
        ],
        sort_keys=True,
        default=str,
    )
    if key not in _cache:
        _cache[key] = _render_uncached(
            helm, values, set, set_string, values_files, kube_version, release, namespace
        )
    return _cache[key]


def _render_uncached(
    helm: Path,
    values: Mapping[str, Any] | None,
    set: Mapping[str, object] | None,
    set_string: Mapping[str, str] | None,
    values_files: Sequence[str | Path],
    kube_version: str | None,
    release: str,
    namespace: str,
) -> Manifests:
    with tempfile.TemporaryDirectory(prefix="render-") as scratch:
        files = list(values_files)
        if values is not None:
            inline = Path(scratch) / "values.yaml"
            inline.write_text(yaml.safe_dump(dict(values), sort_keys=False))
            files.append(inline)
        args = helm_chart_args(
            release=release,
            namespace=namespace,
            values_files=files,
            set=set,
            set_string=set_string,
            kube_version=kube_version,
        )
        try:
            result = run([helm, *args])
        except CommandError as err:
            raise RenderError(
                err.args, err.returncode, err.stdout, err.stderr, err.reason
            ) from None
    documents = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    return Manifests(documents)


def notes(
    *,
    set: Mapping[str, object] | None = None,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    helm: Path | None = None,
) -> str:
    """The NOTES.txt an install would print, from a client-side dry run (no cluster needed)."""
    args = helm_chart_args("install", release=release, namespace=namespace, set=set)
    output = run([helm or tool_path("helm"), *args, "--dry-run=client"]).stdout
    _, found, text = output.partition("NOTES:\n")
    if not found:
        raise NotFound(f"the dry run printed no NOTES section:\n{output}")
    return text


def _set_literal(value: object) -> str:
    """How a Python value is spelled on helm's --set command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def ci_values_files() -> list[Path]:
    """The chart's ci/*-values.yaml variants, the ones chart-testing lints and installs."""
    return sorted(CI_VALUES_DIR.glob("*-values.yaml"))
