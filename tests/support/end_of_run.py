"""The end of a test run, in its main process once every worker is done (tests/conftest.py):
the ipool emulator's cluster-wide objects left behind are removed and reported, then what the
run started (the local cluster, the engine) is stopped, the engine checked for leftovers."""

from __future__ import annotations

from pathlib import Path

from harness.cluster.local import LocalCluster
from harness.container.engine import Engine
from harness.core.proc import ExternalError
from harness.ipool import emulator
from harness.kube.api import KubeAPI
from tests.support import shared

# Kept by the e2e suite's `kube` fixture when the run first reaches its cluster.
EMULATOR_BEFORE = "emulator-before"


def check_and_stop() -> list[str]:
    """What went wrong, one sentence each; empty when nothing did."""
    problems = _emulator_left()
    for name in reversed(shared.started_by_this_run()):
        problems += STOPS[name]()
    shared.forget_this_run()
    return problems


def _emulator_left() -> list[str]:
    before = shared.kept(EMULATOR_BEFORE)
    if before is None:
        return []  # no e2e test reached a cluster in this run
    api = KubeAPI(Path(before["kubeconfig"]))
    try:
        left = [name for name in emulator.installed(api) if name not in before["objects"]]
        if left:
            emulator.uninstall(api)
    except (ExternalError, OSError) as error:
        return [f"could not check the ipool emulator's objects on the cluster: {error}"]
    finally:
        api.close()
    if not left:
        return []
    return [f"the e2e run left the ipool emulator's cluster-wide objects behind: {left}"]


def _stop_cluster() -> list[str]:
    LocalCluster().down()
    return []


def _stop_engine() -> list[str]:
    engine = Engine()
    engine.stop()
    leftovers = engine.leftover_processes()
    return [f"the engine left processes behind: {leftovers}"] if leftovers else []


STOPS = {"cluster": _stop_cluster, "engine": _stop_engine}
