"""Measure the two-node scenarios on the local cluster and write docs/node-disruptions.md.

    python -m harness.disruption [--write docs/node-disruptions.md | --render RECORD]

Starts the local cluster when needed, a pair of nodes set apart (harness.cluster.groups),
pushes the app's images, then runs the drain (harness.disruption.drain) and the dead node
(harness.disruption.dead_node) twice, one release of each kind at once: recovered as soon as
the node is NotReady, then left alone past the pods' 300 s `unreachable` toleration first.
The run is recorded as JSON next to the page, and the page is rendered from that record
alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from collections.abc import Sequence

import yaml

from harness.chart.render import CHART_DIR, WORKLOAD_KINDS
from harness.cluster.local import LocalCluster
from harness.container.publish import publish_images
from harness.core import records
from harness.core.tools import ROOT
from harness.disruption.dead_node import DeadNode, dead_node_under_load
from harness.disruption.drain import Drain, drain_under_load
from harness.disruption.report import Record, record_from_json, render_doc
from harness.ipool.scenarios import Rehearsal
from harness.kube.client import Kube
from harness.traffic.under_load import RATE

DOC = ROOT / "docs" / "node-disruptions.md"
GROUP = "disruptions"
NODES = (2, 3)
# Kubernetes' default `unreachable`/`not-ready` toleration (DefaultTolerationSeconds), and a
# minute more to see what follows the eviction.
LEFT_ALONE_S = 300.0 + 60.0


def chart_max_unavailable() -> int:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    return int(values["podDisruptionBudget"]["maxUnavailable"])


def measure(local: LocalCluster) -> tuple[Drain, DeadNode, DeadNode]:
    for index in NODES:
        local.add_node(index, GROUP)
    try:
        kube = Kube(local.kubeconfig)
        confined = {"prepare_namespace": lambda ns: local.allow_pulls(ns, GROUP)}
        with Rehearsal(kube, **confined) as rehearsal:
            drain = drain_under_load(local, rehearsal, WORKLOAD_KINDS)
            dead = dead_node_under_load(local, rehearsal, WORKLOAD_KINDS, GROUP)
            left = dead_node_under_load(local, rehearsal, WORKLOAD_KINDS, GROUP, LEFT_ALONE_S)
    finally:
        for index in NODES:
            local.remove_node(index)
    return drain, dead, left


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    records.add_output_arguments(parser, "--write", DOC, "cluster")
    args = parser.parse_args(argv)
    if args.render:
        print(f"wrote {records.render_next_to(args.render, record_from_json, render_doc)}")
        return 0
    chart = records.chart_state(CHART_DIR)
    local = LocalCluster()
    local.up()
    publish_images(local)
    drain, dead, left = measure(local)
    record = Record(
        dt.date.today().isoformat(),
        chart,
        os.cpu_count() or 1,
        platform.machine(),
        RATE,
        chart_max_unavailable(),
        drain,
        dead,
        left,
    )
    recorded = records.write(args.write, record, record_from_json, render_doc)
    print(f"wrote {args.write} and {recorded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
