"""Render the chart with the pinned helm and find objects in the result.

`render()` returns the documents `helm template` prints, parsed, as `Manifests`. When the
persistent renderer for the helm asked for is installed (`make setup`:
harness.toolchain.renderer builds it on Helm's own library, as .tools/bin/dfa-render-helm4
for .tools/bin/helm and dfa-render-helm3 for .tools/bin/helm3), one renderer process per
Python process and helm answers every render, a few ms each, its documents already JSON;
otherwise (the operators' machines have helm only) each render runs `helm template`, ~85 ms.
Both give the same documents and the same errors; `DFA_RENDERER=helm` forces helm, and
`DFA_RENDERER=renderer` the renderer (an error when it is not installed), to compare or time
the two. Results are cached per distinct render, because the same values set is rendered by
many tests. A refused render raises `RenderError`, whose stderr is helm's.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from harness.core.objects import Obj
from harness.core.proc import CommandError, run
from harness.core.tools import BIN_DIR, ROOT, ToolError, tool_path

CHART_DIR = ROOT / "charts" / "dummy-flask-app"
CI_VALUES_DIR = CHART_DIR / "ci"
DEFAULT_RELEASE = "dummy-flask-app"
DEFAULT_NAMESPACE = "opseng"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
# The persistent renderer that stands for each pinned helm, by the helm's name in .tools/bin.
RENDERERS = {"helm": "dfa-render-helm4", "helm3": "dfa-render-helm3"}
# auto (the default): the renderer when it is installed; helm: always helm; renderer: always
# the renderer.
RENDERER_ENV = "DFA_RENDERER"
RENDERER_MODES = ("auto", "helm", "renderer")


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
    set_file: Mapping[str, str | Path] | None = None,
    kube_version: str | None = None,
) -> list[str]:
    """Arguments after the binary for `helm template|install|upgrade <release> <chart>`.

    Values are passed in the order helm merges them: files, then --set, --set-string and
    --set-file.
    """
    args = [command, release, str(chart), "--namespace", namespace]
    for path in values_files:
        args += ["--values", str(path)]
    for pair in set_pairs(set):
        args += ["--set", pair]
    for pair in set_string_pairs(set_string):
        args += ["--set-string", pair]
    for pair in set_string_pairs(set_file):
        args += ["--set-file", pair]
    if kube_version:
        args += ["--kube-version", kube_version]
    return args


def render(
    values: Mapping[str, Any] | None = None,
    *,
    set: Mapping[str, object] | None = None,
    set_string: Mapping[str, str] | None = None,
    set_file: Mapping[str, str | Path] | None = None,
    values_files: Sequence[str | Path] = (),
    kube_version: str | None = None,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    helm: Path | None = None,
    chart: Path = CHART_DIR,
) -> Manifests:
    """Render the chart (or another copy of it at `chart`); `values` is passed as a values
    file after `values_files`, `set_file` (helm's --set-file KEY=PATH) after the rest.

    Raises RenderError, with helm's stderr, when helm (or the renderer standing for it)
    refuses the chart or the values. The persistent renderer loads each `chart` once per
    process, so a copy of the chart must be edited before its first render; it takes no
    --set-file, so a `set_file` goes through `helm template`.
    """
    helm = helm or tool_path("helm")
    renderer = None if set_file else persistent_renderer(helm, chart)
    key = json.dumps(
        [
            str(helm),
            str(chart),
            renderer and str(renderer.binary),
            values,
            set,
            set_string,
            set_file,
            [str(p) for p in values_files],
            kube_version,
            release,
            namespace,
        ],
        sort_keys=True,
        default=str,
    )
    if key not in _cache:
        if renderer:
            _cache[key] = renderer.render(
                values, set, set_string, values_files, kube_version, release, namespace
            )
        else:
            _cache[key] = _render_with_helm(
                helm,
                chart,
                values,
                set,
                set_string,
                set_file,
                values_files,
                kube_version,
                release,
                namespace,
            )
    return _cache[key]


def _render_with_helm(
    helm: Path,
    chart: Path,
    values: Mapping[str, Any] | None,
    set: Mapping[str, object] | None,
    set_string: Mapping[str, str] | None,
    set_file: Mapping[str, str | Path] | None,
    values_files: Sequence[str | Path],
    kube_version: str | None,
    release: str,
    namespace: str,
) -> Manifests:
    with tempfile.TemporaryDirectory(prefix="render-") as scratch:
        files = list(values_files)
        if values is not None:
            # JSON, which Helm reads as YAML: PyYAML writes strings such as y, 1e3 or 0o17
            # unquoted, and Helm's YAML 1.1 reads them as a boolean or a number. The same
            # text as the renderer gets.
            inline = Path(scratch) / "values.json"
            inline.write_text(values_json(values), encoding="utf-8")
            files.append(inline)
        args = helm_chart_args(
            release=release,
            namespace=namespace,
            chart=chart,
            values_files=files,
            set=set,
            set_string=set_string,
            set_file=set_file,
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


class PersistentRenderer:
    """One renderer process for one helm, started on first use and restarted when it died.

    The process loads the chart once and answers one JSON request per line (the protocol is
    in harness/toolchain/renderer/server/serve.go). It is this process's own: a forked child
    (a pytest-xdist worker is a process of its own anyway) starts another, and it ends with
    the interpreter.
    """

    def __init__(self, binary: Path, chart: Path = CHART_DIR) -> None:
        self.binary = binary
        self.chart = chart
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._owner = os.getpid()  # the process that started it
        self._requests = 0
        self._lock = threading.Lock()

    def render(
        self,
        values: Mapping[str, Any] | None,
        set: Mapping[str, object] | None,
        set_string: Mapping[str, str] | None,
        values_files: Sequence[str | Path],
        kube_version: str | None,
        release: str,
        namespace: str,
    ) -> Manifests:
        """Like `helm template`: its documents, or RenderError with helm's stderr."""
        with self._lock:
            self._requests += 1
            request = {
                "id": self._requests,
                "cwd": os.getcwd(),
                "release": release,
                "namespace": namespace,
                "values_files": [str(path) for path in values_files],
                "values": None if values is None else dict(values),
                "set": set_pairs(set),
                "set_string": set_string_pairs(set_string),
                "kube_version": kube_version or "",
            }
            # The values inside as values_json writes them for helm.
            line = json.dumps(request, ensure_ascii=False, allow_nan=False)
            answer = self._ask(line) or self._ask(line)  # once more if it had died
            if answer is None:
                raise CommandError(
                    [str(self.binary), str(self.chart)],
                    self._process and self._process.returncode,
                    "",
                    self._stderr_text(),
                    f"the renderer ended twice while rendering {line}",
                )
        if "error" in answer:
            stderr = answer.get("log", "") + f"Error: {answer['error']}\n"
            raise RenderError([str(self.binary), str(self.chart)], 1, "", stderr, f"refused {line}")
        return Manifests(tuple(answer["documents"]))

    @property
    def pid(self) -> int | None:
        """The running process's id; None before the first render and after close()."""
        return self._process.pid if self._process else None

    def _ask(self, line: str) -> dict[str, Any] | None:
        """The answer to one request line; None when the process ended instead."""
        process = self._running()
        assert process.stdin and process.stdout
        try:
            process.stdin.write(line + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
        except BrokenPipeError:
            answer = ""
        except BaseException:
            # Interrupted between a request and its answer, which the next request would
            # read: the process goes.
            self.close()
            raise
        if not answer:
            process.wait()
            return None
        return json.loads(answer)

    def _running(self) -> subprocess.Popen[str]:
        if self._owner == os.getpid() and self._process and self._process.poll() is None:
            return self._process
        self.close()
        # A file, not a pipe: nothing reads it until the process has died.
        self._stderr = tempfile.TemporaryFile("w+", prefix="dfa-render-")  # noqa: SIM115
        self._owner = os.getpid()
        self._process = subprocess.Popen(
            [str(self.binary), str(self.chart)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        return self._process

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self) -> None:
        """End the process: its stdin closed, it exits (killed if it does not)."""
        process, stderr = self._process, self._stderr
        self._process, self._stderr = None, None
        if self._owner != os.getpid():
            return  # forked: they are the parent's
        if process is not None:
            assert process.stdin and process.stdout
            # Closing stdin ends the renderer; if it died, the request it left unread fails.
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        if stderr is not None:
            stderr.close()


# By helm path and chart: its renderer, None when none is installed for helm (looked up once).
_renderers: dict[tuple[str, str], PersistentRenderer | None] = {}


def persistent_renderer(helm: Path, chart: Path = CHART_DIR) -> PersistentRenderer | None:
    """The persistent renderer that renders `chart` for `helm`, or None when helm itself must."""
    mode = os.environ.get(RENDERER_ENV) or "auto"
    if mode not in RENDERER_MODES:
        raise ToolError(f"{RENDERER_ENV}={mode}: expected one of {', '.join(RENDERER_MODES)}")
    if mode == "helm":
        return None
    key = (str(helm), str(chart))
    if key not in _renderers:
        _renderers[key] = _installed_renderer(Path(helm), Path(chart))
    renderer = _renderers[key]
    if renderer is None and mode == "renderer":
        raise ToolError(
            f"{RENDERER_ENV}=renderer, but no persistent renderer for {helm} is installed;"
            " run `make setup`"
        )
    return renderer


def _installed_renderer(helm: Path, chart: Path) -> PersistentRenderer | None:
    for helm_name, name in RENDERERS.items():
        if helm == BIN_DIR / helm_name and (BIN_DIR / name).exists():
            return PersistentRenderer(BIN_DIR / name, chart)
    return None


def renderer_description(helm: Path | None = None) -> str:
    """How render() renders for `helm` (the pinned helm by default) in this process."""
    helm = helm or tool_path("helm")
    renderer = persistent_renderer(helm)
    if renderer is None:
        return "helm template, one process per call"
    return f"the persistent renderer {renderer.binary.name}, one process for every call"


@atexit.register
def close_renderers() -> None:
    """End every persistent renderer this process started."""
    for renderer in _renderers.values():
        if renderer:
            renderer.close()


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


def values_json(values: Mapping[str, Any]) -> str:
    """Inline values as the text of a values file, the same on both paths: raw UTF-8 (Helm's
    YAML refuses the escaped surrogate pair JSON gives a character beyond U+FFFF), no NaN."""
    return json.dumps(dict(values), ensure_ascii=False, allow_nan=False)


def set_pairs(set: Mapping[str, object] | None) -> list[str]:
    """The `key=value` of each --set flag, as helm's command line takes them."""
    return [f"{key}={_set_literal(value)}" for key, value in (set or {}).items()]


def set_string_pairs(set_string: Mapping[str, str | Path] | None) -> list[str]:
    """The `key=value` of each --set-string (or --set-file) flag."""
    return [f"{key}={value}" for key, value in (set_string or {}).items()]


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
