"""Which cluster and namespace a command talks to, chosen the way helm and kubectl choose.

The kubeconfig is `--kubeconfig`, else the files in KUBECONFIG, else ~/.kube/config; the
context is `--kube-context`, else the kubeconfig's current context; the namespace is `-n`,
else that context's namespace, else `default`. For the length of a command, `selected()`
points KUBECONFIG at the chosen files, with the chosen context put first as the current one
in a one-line file of its own, so that every helm and kubectl the command runs talks to the
same cluster as the same user without each call being given flags. Credentials are never
copied: that file names the context and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from harness.ops.cli import Refused

HELM_DEFAULT_NAMESPACE = "default"


def config_files(environ: Mapping[str, str]) -> list[Path]:
    """The kubeconfig files kubectl would merge, in its order."""
    listed = [Path(part) for part in environ.get("KUBECONFIG", "").split(os.pathsep) if part]
    return listed or [Path.home() / ".kube" / "config"]


def _merged(files: list[Path]) -> tuple[str | None, dict[str, dict]]:
    """The current context and every context by name, merged as kubectl merges: the first
    file that sets a field wins."""
    current: str | None = None
    contexts: dict[str, dict] = {}
    for path in files:
        try:
            config = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            continue  # kubectl skips a listed file that is not there
        except (OSError, yaml.YAMLError) as error:
            raise Refused(f"cannot read kubeconfig {path}: {error}") from None
        current = current or config.get("current-context") or None
        for entry in config.get("contexts") or []:
            contexts.setdefault(entry.get("name"), entry.get("context") or {})
    return current, contexts


def namespace_of(context: str | None, environ: Mapping[str, str]) -> str:
    """The namespace of `context` (the current one when None), as helm takes it."""
    current, contexts = _merged(config_files(environ))
    chosen = contexts.get(context or current, {})
    return chosen.get("namespace") or HELM_DEFAULT_NAMESPACE


@contextlib.contextmanager
def selected(
    namespace: str | None, kubeconfig: Path | None = None, context: str | None = None
) -> Iterator[str]:
    """For the `with` block, KUBECONFIG names `kubeconfig` (when given) with `context` (when
    given) as the current context; yields the namespace to work in: `namespace`, else the
    context's. A file or context that is not there is refused before anything runs."""
    environ = dict(os.environ)
    if kubeconfig is not None:
        if not kubeconfig.is_file():
            raise Refused(f"--kubeconfig {kubeconfig}: no such file")
        environ["KUBECONFIG"] = str(kubeconfig.resolve())
    with tempfile.TemporaryDirectory(prefix="dfa-context-") as folder:
        if context is not None:
            files = config_files(environ)
            known = _merged(files)[1]
            if context not in known:
                raise Refused(
                    f"--kube-context {context}: no such context in "
                    f"{os.pathsep.join(map(str, files))}; its contexts: "
                    f"{', '.join(sorted(known)) or 'none'}"
                )
            current = Path(folder) / "current-context.yaml"
            current.write_text(
                yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": context})
            )
            environ["KUBECONFIG"] = os.pathsep.join(map(str, [current, *files]))
        chosen = namespace or namespace_of(context, environ)
        with _kubeconfig_env(environ.get("KUBECONFIG")):
            yield chosen


@contextlib.contextmanager
def _kubeconfig_env(value: str | None) -> Iterator[None]:
    """KUBECONFIG set to `value` (unset when None) for the `with` block."""
    before = os.environ.get("KUBECONFIG")
    _set_kubeconfig(value)
    try:
        yield
    finally:
        _set_kubeconfig(before)


def _set_kubeconfig(value: str | None) -> None:
    if value is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = value
