"""The two-node scenarios' record (docs/node-disruptions.json) and the page rendered from it
alone (docs/node-disruptions.md), so that the page can be rendered again without a cluster
and a test can check it is what its record renders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.templates import render_template
from harness.disruption.dead_node import DeadNode, LeftAlone
from harness.disruption.drain import Drain
from harness.disruption.releases import Watched
from harness.ipool.recorder import Measurement
from harness.traffic.client import TrafficReport


@dataclass
class Record:
    date: str
    chart: str  # the chart's version and commit (harness.core.records.chart_state)
    cores: int
    architecture: str
    rate_per_s: float  # the load on each release's Service
    max_unavailable: int  # the chart's podDisruptionBudget.maxUnavailable
    drain: Drain
    dead_node: DeadNode  # scripts/recover-node as soon as the node is NotReady
    left_alone: DeadNode | None = None  # the same, with nobody acting for a while first


def _watched(data: Mapping[str, Any]) -> Watched:
    fields = dict(data)
    fields["measurement"] = Measurement(**fields["measurement"])
    fields["traffic"] = TrafficReport.from_json(json.dumps(fields["traffic"]))
    return Watched(**fields)


def _dead_node(data: Mapping[str, Any]) -> DeadNode:
    fields = dict(data)
    fields["releases"] = [_watched(w) for w in fields["releases"]]
    left = fields.get("left_alone", {})
    fields["left_alone"] = {kind: LeftAlone(**seen) for kind, seen in left.items()}
    return DeadNode(**fields)


def record_from_json(text: str) -> Record:
    data = json.loads(text)
    drain = data.pop("drain")
    drain["releases"] = [_watched(w) for w in drain["releases"]]
    dead, left = data.pop("dead_node"), data.pop("left_alone", None)
    return Record(
        **data,
        drain=Drain(**drain),
        dead_node=_dead_node(dead),
        left_alone=_dead_node(left) if left else None,
    )


def render_doc(record: Record) -> str:
    return render_template(Path(__file__).parent, "node-disruptions.md.j2", run=record)
