"""The rollout plan: what an upgrade of each workload kind will do to the pods and the IP pool.

`plans()` takes the same values as helm (scripts/rollout-plan passes them on), renders the
chart once per kind and works out, from the rendered workload alone, how many pods and IPs
a rolling update needs at its peak, how many pods stay Ready, and whether the pool
(recorded by the chart in the workload's `dummy-flask-app.quantil.com/ipool-size` annotation)
is big enough. With an autoscaler, the plan counts its maxReplicas: the most pods a rollout
may start from. The arithmetic is the controllers':
a Deployment rounds maxSurge up and maxUnavailable down, and when both come to zero it lets
one pod be unavailable; a StatefulSet deletes a pod (maxUnavailable pods, rounded down, at
least one) before creating its replacement.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.chart.render import (
    WORKLOAD_KINDS,
    RenderError,
    render,
)
from harness.core.objects import Obj
from harness.core.templates import render_template

TEMPLATES = Path(__file__).parent / "templates"
POOL_NAME = "dummy-flask-app.quantil.com/ipool-name"
POOL_SIZE = "dummy-flask-app.quantil.com/ipool-size"
# The keys charts before 0.5.0 wrote, still on workloads those releases installed.
LEGACY_POOL_NAME = "dummy-flask-app/ipool-name"
LEGACY_POOL_SIZE = "dummy-flask-app/ipool-size"
# Kubernetes' defaults for a RollingUpdate Deployment that names no limits.
DEFAULT_SURGE = DEFAULT_UNAVAILABLE = "25%"


@dataclass(frozen=True)
class Plan:
    """One workload's rollout, or the chart's refusal to render it."""

    kind: str
    strategy: str = ""
    replicas: int = 0
    peak_pods: int = 0
    min_ready: int = 0
    pool: str | None = None
    pool_size: int | None = None
    refused: str | None = None
    # (minReplicas, maxReplicas) of the release's autoscaler; replicas is then maxReplicas.
    autoscaled: tuple[int, int] | None = None

    @property
    def peak_ips(self) -> int | None:
        """IPs the pool must hold at once: one per pod that is not being deleted."""
        return self.peak_pods if self.pool else None

    @property
    def fits(self) -> bool | None:
        if self.pool_size is None or self.peak_ips is None:
            return None
        return self.peak_ips <= self.pool_size


def pod_count(value: int | str, replicas: int, *, round_up: bool) -> int:
    """An int-or-percent rollout limit as pods, rounded as the Deployment controller does."""
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    exact = int(text[:-1]) * replicas / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def plan_for(workload: Obj, autoscaler: Obj | None = None) -> Plan:
    """The rollout of a Deployment or StatefulSet; with its HorizontalPodAutoscaler, the
    rollout of the most pods the autoscaler may run."""
    spec = workload["spec"]
    autoscaled = None
    if autoscaler is not None:
        limits = autoscaler["spec"]
        autoscaled = (int(limits.get("minReplicas", 1)), int(limits["maxReplicas"]))
    replicas = autoscaled[1] if autoscaled else int(spec.get("replicas", 1))
    annotations = workload["metadata"].get("annotations", {})
    pool = annotations.get(POOL_NAME, annotations.get(LEGACY_POOL_NAME))
    size = annotations.get(POOL_SIZE, annotations.get(LEGACY_POOL_SIZE))
    common = {
        "kind": workload["kind"],
        "replicas": replicas,
        "pool": pool,
        "pool_size": None if size is None else int(size),
        "autoscaled": autoscaled,
    }
    if workload["kind"] == "StatefulSet":
        return Plan(**common, **_statefulset(spec, replicas))
    return Plan(**common, **_deployment(spec, replicas))


def _deployment(spec: Obj, replicas: int) -> dict:
    strategy = spec.get("strategy", {})
    if strategy.get("type") == "Recreate":
        return {"strategy": "Recreate", "peak_pods": replicas, "min_ready": 0}
    rolling = strategy.get("rollingUpdate", {})
    surge_value = rolling.get("maxSurge", DEFAULT_SURGE)
    unavailable_value = rolling.get("maxUnavailable", DEFAULT_UNAVAILABLE)
    surge = pod_count(surge_value, replicas, round_up=True)
    unavailable = pod_count(unavailable_value, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    described = (
        f"RollingUpdate maxSurge {_limit(surge_value, surge)}, "
        f"maxUnavailable {_limit(unavailable_value, unavailable)}"
    )
    if replicas == 0:
        return {"strategy": described, "peak_pods": 0, "min_ready": 0}
    return {
        "strategy": described,
        "peak_pods": replicas + surge,
        "min_ready": max(replicas - unavailable, 0),
    }


def _limit(value: int | str, pods: int) -> str:
    return str(value) if str(value) == str(pods) else f"{value} (= {pods} pods)"


def _statefulset(spec: Obj, replicas: int) -> dict:
    update = spec.get("updateStrategy", {})
    policy = spec.get("podManagementPolicy", "OrderedReady")
    if update.get("type") == "OnDelete":
        return {
            "strategy": f"OnDelete ({policy}): pods change only when deleted by hand",
            "peak_pods": replicas,
            "min_ready": replicas,
        }
    rolling = update.get("rollingUpdate", {})
    partition = int(rolling.get("partition", 0))
    limit = rolling.get("maxUnavailable", 1)
    # The controller rounds a percentage down and replaces at least one pod at a time
    # (Kubernetes 1.37 on; 1.35 and 1.36 with the MaxUnavailableStatefulSet gate, and one at a
    # time before, which keeps more Ready than planned here).
    at_once = min(max(pod_count(limit, replicas, round_up=False), 1), max(replicas - partition, 0))
    described = f"RollingUpdate ({policy}), " + (
        "one pod at a time" if str(limit) == "1" else f"maxUnavailable {_limit(limit, at_once)}"
    )
    if partition:
        described += f", ordinals >= {partition} only"
    # Each pod is deleted, and its IP freed, before its replacement is created.
    return {"strategy": described, "peak_pods": replicas, "min_ready": max(replicas - at_once, 0)}


def handover_plan(workload: Obj, autoscaler: Obj | None = None) -> Plan:
    """A switch to `workload`'s kind by hand-over (harness.ops.handover): one pod and one IP
    at a time, so never more than `replicas` pods or IPs and all but one pod Ready."""
    plan = plan_for(workload, autoscaler)
    return replace(
        plan,
        kind=f"switch to {plan.kind} by hand-over",
        strategy="one pod and one IP at a time (scripts/migrate-to-*, scripts/adopt-unmanaged)",
        peak_pods=plan.replicas,
        min_ready=max(plan.replicas - 1, 0),
    )


def plans(
    values_files: Sequence[Path] = (),
    set: Mapping[str, str] | None = None,
    **render_options: Any,
) -> list[Plan]:
    """One plan per workload kind, for the given values, then one per switch to that kind
    by hand-over; `render_options` are render()'s (set_string, set_file, chart, helm, release,
    namespace)."""
    found, workloads = [], []
    for kind in WORKLOAD_KINDS:
        try:
            manifests = render(
                values_files=values_files,
                set={**(set or {}), "workload.kind": kind},
                **render_options,
            )
        except RenderError as error:
            found.append(Plan(kind=kind, refused=error.chart_message))
            continue
        workload = manifests.workload
        autoscaler = manifests.find("HorizontalPodAutoscaler", workload["metadata"]["name"])
        found.append(plan_for(workload, autoscaler))
        workloads.append((workload, autoscaler))
    return found + [handover_plan(*pair) for pair in workloads]


def report(found: Sequence[Plan], configured: str | None, fmt: str = "text") -> str:
    """The plans as text or a markdown table (for people), or JSON (for CI)."""
    if fmt == "json":
        return json.dumps(as_json(found, configured), indent=2) + "\n"
    return render_template(TEMPLATES, f"rollout_plan.{fmt}.j2", plans=found, configured=configured)


def as_json(found: Sequence[Plan], configured: str | None) -> dict[str, Any]:
    """The plans as data: each plan's fields with its peak IPs and whether the pool holds
    them, and the configured kind (None when the chart refuses the values as given)."""
    chosen = next((plan for plan in found if plan.kind == configured), None)
    return {
        "configured": configured,
        "poolSuffices": None if chosen is None else chosen.fits,
        "plans": [
            {
                "kind": plan.kind,
                "refused": plan.refused,
                "strategy": plan.strategy,
                "replicas": plan.replicas,
                "autoscaled": list(plan.autoscaled) if plan.autoscaled else None,
                "peakPods": plan.peak_pods,
                "minReady": plan.min_ready,
                "pool": plan.pool,
                "poolSize": plan.pool_size,
                "peakIPs": plan.peak_ips,
                "poolSuffices": plan.fits,
            }
            for plan in found
        ],
    }
