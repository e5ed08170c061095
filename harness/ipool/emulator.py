"""An IP-pool emulator: the platform's per-pod public IPs, on any recent cluster.

    python -m harness.ipool.emulator --kubeconfig K install
    python -m harness.ipool.emulator --kubeconfig K pool NAME IP [IP ...]
    python -m harness.ipool.emulator --kubeconfig K run [--termination-delay 3]
    python -m harness.ipool.emulator --kubeconfig K uninstall

What it emulates. On the platform, a pod annotated `quantil.com/ipool: <pool>` is given a free
IP of that pool before it is bound to a node, and the IP stays taken until the pod object is
gone (so a terminating pod still holds it). When the pool has no free IP the pod stays
Pending and the scheduler records, again and again,

    Warning FailedSchedulingIP  Can't allocate ip from ipool <pool>.Error: Operation cannot
    be fulfilled on ipools "<pool>": ipool <pool> have not freeip

Pools are cluster objects here too: `IPPool` (ipools.ipool.rehearsal.local), a name and a
list of IPs. Pods without the annotation are not touched.

How. A pod must not reach a node before it has an IP, and the real kube-scheduler and
controllers must stay in charge of everything else, so the emulator does not schedule pods
itself. Instead a MutatingAdmissionPolicy (evaluated inside the API server: no webhook server,
no certificates) adds the scheduling gate `ipool.rehearsal.local/allocate` to every pod created
with the annotation; the real scheduler leaves gated pods Pending. This loop gives each gated
pod a free IP: one JSON patch, guarded by the pod's resourceVersion, records the IP in the
pod's `ipool.rehearsal.local/ip` annotation and removes the gate, after which the real
scheduler binds the pod as usual. Replacing kube-scheduler instead would have meant
re-implementing node choice for every pod in the cluster; a webhook would have needed TLS
plumbing. Scheduling gates and MutatingAdmissionPolicy are GA from Kubernetes 1.36.

Termination. A deleted pod keeps its IP until its object is gone. A real kubelet keeps the
object while its containers stop; kwok's fake nodes remove it at once. So that a rehearsal
holds IPs at least as long as the platform would on either, the emulator holds each pod it
gave an IP with a finalizer and lets it go a configurable termination delay after it was
deleted.

Scope. The policy only acts in namespaces labelled `ipool.rehearsal.local/emulated=true`
(`emulate_namespace()`), so other workloads on a shared cluster never wait for an emulator.

Leaving. `uninstall` (`uninstall()`) deletes every cluster-wide object `install` made: the
IPPool type with its pools, the policy, its binding and the `ipool-rehearsal` namespace. With
failurePolicy Fail a forgotten policy would keep gating pods long after any emulator runs, so
every rehearsal removes it when it ends.

State. The emulator keeps none: each pass reads which IPs the existing pods hold. An IP is
therefore free exactly when no pod object carries it, and a restarted emulator (even one
killed between two patches) cannot hand one IP to two pods: the allocation and the
ungating are one atomic write, so a pod either holds its IP on the server or still waits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.objects import Obj, has_condition
from harness.core.retry import wait_for, wait_until_gone
from harness.kube.api import ApiError, KubeAPI, pointer

PROG = "python -m harness.ipool.emulator"
GROUP = "ipool.rehearsal.local"
VERSION = "v1"
CRD_NAME = f"ipools.{GROUP}"
POOLS_PATH = f"/apis/{GROUP}/{VERSION}/ipools"
GATE = f"{GROUP}/allocate"
IP_ANNOTATION = f"{GROUP}/ip"
# Holds a deleted pod (and so its IP) for the termination delay, as a kubelet would.
FINALIZER = f"{GROUP}/release-ip"
# Only namespaces carrying this label are emulated, so other tests on a shared cluster are not.
NAMESPACE_LABEL = f"{GROUP}/emulated"
DEFAULT_POOL_ANNOTATION = "quantil.com/ipool"
POLICY_NAME = "ipool-rehearsal-gate"
PROBE_NAMESPACE = "ipool-rehearsal"
REASON = "FailedSchedulingIP"
DEFAULT_TERMINATION_DELAY = 3.0


def no_free_ip_message(pool: str) -> str:
    """The platform's own wording, so runbooks and alerts can be rehearsed as they are."""
    return (
        f"Can't allocate ip from ipool {pool}.Error: Operation cannot be fulfilled on ipools "
        f'"{pool}": ipool {pool} have not freeip'
    )


def crd() -> Obj:
    ip_list = {"type": "array", "items": {"type": "string", "format": "ipv4"}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {"plural": "ipools", "singular": "ipool", "kind": "IPPool"},
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["ips"],
                                    "properties": {"ips": ip_list},
                                }
                            },
                        }
                    },
                    "additionalPrinterColumns": [
                        {"name": "IPs", "type": "string", "jsonPath": ".spec.ips"}
                    ],
                }
            ],
        },
    }


def gate_policy(pool_annotation: str = DEFAULT_POOL_ANNOTATION) -> list[Obj]:
    """The admission policy (and its binding) that gates every pod asking for a pool."""
    asks = f"has(object.metadata.annotations) && '{pool_annotation}' in object.metadata.annotations"
    gate = (
        "Object{spec: Object.spec{schedulingGates: "
        f'[Object.spec.schedulingGates{{name: "{GATE}"}}]}}}}'
    )
    api = "admissionregistration.k8s.io/v1"
    return [
        {
            "apiVersion": api,
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": POLICY_NAME},
            "spec": {
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["pods"],
                        }
                    ]
                },
                "matchConditions": [{"name": "asks-for-an-ip-pool", "expression": asks}],
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "mutations": [
                    {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": gate}}
                ],
            },
        },
        {
            "apiVersion": api,
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": POLICY_NAME},
            "spec": {
                "policyName": POLICY_NAME,
                "matchResources": {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "true"}}},
            },
        },
    ]


def _collection(obj: Obj) -> str:
    group_version, kind = obj["apiVersion"], obj["kind"]
    plural = {
        "CustomResourceDefinition": "customresourcedefinitions",
        "MutatingAdmissionPolicy": "mutatingadmissionpolicies",
        "MutatingAdmissionPolicyBinding": "mutatingadmissionpolicybindings",
        "IPPool": "ipools",
    }[kind]
    return f"/apis/{group_version}/{plural}"


def apply(api: KubeAPI, obj: Obj) -> None:
    """Create `obj`, or replace the spec of the one already there."""
    try:
        api.create(_collection(obj), obj)
    except ApiError as error:
        if error.status != 409:
            raise
        api.merge_patch(f"{_collection(obj)}/{obj['metadata']['name']}", {"spec": obj["spec"]})


def install(
    api: KubeAPI, pool_annotation: str = DEFAULT_POOL_ANNOTATION, timeout: float = 60.0
) -> None:
    """Install the IPPool type and the gate policy, and wait until both are in force."""
    apply(api, crd())
    wait_for(lambda: _established(api), "the IPPool resource to be served", timeout)
    emulate_namespace(api, PROBE_NAMESPACE)
    for obj in gate_policy(pool_annotation):
        apply(api, obj)
    wait_for(lambda: _gates(api, pool_annotation), "the gate policy to act on new pods", timeout)


ADMISSION_API = "/apis/admissionregistration.k8s.io/v1"
# What install() makes, all cluster-wide, as `Kind/name` -> API path.
GATE_OBJECTS = {
    f"MutatingAdmissionPolicyBinding/{POLICY_NAME}": (
        f"{ADMISSION_API}/mutatingadmissionpolicybindings/{POLICY_NAME}"
    ),
    f"MutatingAdmissionPolicy/{POLICY_NAME}": (
        f"{ADMISSION_API}/mutatingadmissionpolicies/{POLICY_NAME}"
    ),
}
TYPE_OBJECTS = {
    f"Namespace/{PROBE_NAMESPACE}": f"/api/v1/namespaces/{PROBE_NAMESPACE}",
    f"CustomResourceDefinition/{CRD_NAME}": (
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}"
    ),
}


def installed(api: KubeAPI) -> list[str]:
    """`Kind/name` of the cluster-wide objects of install() that exist now (also while they
    are being deleted)."""
    found = []
    for name, path in {**GATE_OBJECTS, **TYPE_OBJECTS}.items():
        try:
            api.get(path)
        except ApiError as error:
            if error.status != 404:
                raise
            continue
        found.append(name)
    return found


def uninstall(
    api: KubeAPI, pool_annotation: str = DEFAULT_POOL_ANNOTATION, timeout: float = 120.0
) -> None:
    """Delete what install() made and wait until it is gone; what is gone already is skipped,
    so this also cleans up after a half-finished install.

    The gate goes first, and is waited for until it no longer acts (the API server drops a
    deleted policy a moment later), so no pod is gated from then on. Then the pods the emulator
    still holds are let go: once it is uninstalled nothing would remove its finalizer or its
    gate, and they would stay Terminating or Pending for good. Deleting the type deletes the
    pools.
    """
    for path in GATE_OBJECTS.values():
        _delete(api, path)
    wait_for(
        lambda: not _still_gates(api, pool_annotation),
        "the gate policy to stop acting on new pods",
        timeout,
    )
    wait_until_gone(lambda: _let_go(api), "the emulator's pods to be let go", timeout)
    for path in TYPE_OBJECTS.values():
        _delete(api, path)
    wait_until_gone(lambda: installed(api), "the emulator's cluster-wide objects to go", timeout)


def _still_gates(api: KubeAPI, pool_annotation: str) -> bool:
    try:
        return _gates(api, pool_annotation)
    except ApiError as error:
        if error.status == 404:
            return False  # no probe namespace, so no gate: install makes it first
        raise


def _delete(api: KubeAPI, path: str) -> None:
    try:
        api.request("DELETE", path)
    except ApiError as error:
        if error.status != 404:
            raise


def _let_go(api: KubeAPI) -> list[str]:
    """Remove the emulator's finalizer and gate from every pod that has either; return the
    pods that had them (a pod that changed meanwhile is patched on the next call)."""
    held = []
    for pod in api.items("/api/v1/pods"):
        finalizers = pod["metadata"].get("finalizers", [])
        gates = [g["name"] for g in pod["spec"].get("schedulingGates", [])]
        operations = []
        if FINALIZER in finalizers:
            index = finalizers.index(FINALIZER)
            operations.append({"op": "remove", "path": f"/metadata/finalizers/{index}"})
        if GATE in gates:
            operations.append(
                {"op": "remove", "path": f"/spec/schedulingGates/{gates.index(GATE)}"}
            )
        if operations:
            _patch(api, pod, operations)
            held.append(_key(pod))
    return held


def _established(api: KubeAPI) -> bool:
    return has_condition(
        api.get(TYPE_OBJECTS[f"CustomResourceDefinition/{CRD_NAME}"]), "Established"
    )


def _gates(api: KubeAPI, pool_annotation: str) -> bool:
    """Whether a pod asking for a pool is gated now, by a dry-run create that stores nothing."""
    probe = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "ipool-probe-", "annotations": {pool_annotation: "probe"}},
        "spec": {"containers": [{"name": "probe", "image": "probe"}]},
    }
    created = api.create(f"/api/v1/namespaces/{PROBE_NAMESPACE}/pods?dryRun=All", probe)
    return any(g["name"] == GATE for g in created["spec"].get("schedulingGates", []))


def emulate_namespace(api: KubeAPI, namespace: str) -> None:
    """Create `namespace` if needed and label it so its pods are emulated."""
    try:
        api.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
    except ApiError as error:
        if error.status != 409:
            raise
    api.merge_patch(
        f"/api/v1/namespaces/{namespace}", {"metadata": {"labels": {NAMESPACE_LABEL: "true"}}}
    )


def set_pool(api: KubeAPI, name: str, ips: Sequence[str]) -> None:
    """Create or resize the pool `name`."""
    apply(
        api,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "IPPool",
            "metadata": {"name": name},
            "spec": {"ips": list(ips)},
        },
    )


@dataclass
class Emulator:
    """The allocation loop. `reconcile()` is one pass; `run()` repeats it."""

    api: KubeAPI
    pool_annotation: str = DEFAULT_POOL_ANNOTATION
    retry_interval: float = 1.0
    termination_delay: float = DEFAULT_TERMINATION_DELAY
    _last_warning: dict[str, float] = field(default_factory=dict)
    _terminating_since: dict[str, float] = field(default_factory=dict)

    def reconcile(self) -> list[tuple[str, str]]:
        """Give free IPs to gated pods, oldest first; return the (pod, ip) pairs given."""
        pools = {p["metadata"]["name"]: p["spec"]["ips"] for p in self.api.items(POOLS_PATH)}
        pods = self.api.items("/api/v1/pods")
        self._release_terminated(pods)
        taken = holders(pods, self.pool_annotation)
        given = []
        for pod in sorted(gated(pods), key=lambda p: p["metadata"]["creationTimestamp"]):
            pool = pod["metadata"]["annotations"].get(self.pool_annotation, "")
            free = [ip for ip in pools.get(pool, []) if (pool, ip) not in taken]
            if not free:
                self._warn(pod, pool, known=pool in pools)
                continue
            if self._allocate(pod, free[0]):
                taken[(pool, free[0])] = _key(pod)
                given.append((_key(pod), free[0]))
        return given

    def _allocate(self, pod: Obj, ip: str) -> bool:
        """Record `ip`, hold the pod with the finalizer and ungate it, in one atomic write."""
        meta = pod["metadata"]
        gate_index = [g["name"] for g in pod["spec"]["schedulingGates"]].index(GATE)
        if meta.get("finalizers"):
            hold = {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}
        else:
            hold = {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}
        return _patch(
            self.api,
            pod,
            [
                {
                    "op": "add",
                    "path": f"/metadata/annotations/{pointer(IP_ANNOTATION)}",
                    "value": ip,
                },
                hold,
                {"op": "remove", "path": f"/spec/schedulingGates/{gate_index}"},
            ],
        )

    def _release_terminated(self, pods: Iterable[Obj]) -> None:
        """Let deleted pods go, and their IPs with them, once the termination delay is over.

        The delay runs from when this emulator first saw the pod terminating, so after a
        restart a pod may be held up to one delay longer, never shorter.
        """
        now = time.monotonic()
        for pod in pods:
            meta = pod["metadata"]
            if not meta.get("deletionTimestamp") or FINALIZER not in meta.get("finalizers", []):
                continue
            since = self._terminating_since.setdefault(_key(pod), now)
            if now - since >= self.termination_delay:
                index = meta["finalizers"].index(FINALIZER)
                if _patch(
                    self.api, pod, [{"op": "remove", "path": f"/metadata/finalizers/{index}"}]
                ):
                    del self._terminating_since[_key(pod)]

    def _warn(self, pod: Obj, pool: str, known: bool) -> None:
        key = _key(pod)
        now = time.monotonic()
        if now - self._last_warning.get(key, -self.retry_interval) < self.retry_interval:
            return
        self._last_warning[key] = now
        message = no_free_ip_message(pool) if known else f'ipools "{pool}" not found'
        try:
            record_warning(self.api, pod, REASON, message)
        except ApiError as error:
            # A namespace being deleted takes no new events; the pod goes with it.
            if error.status not in (403, 404):
                raise

    def run(self, interval: float = 0.2) -> None:
        """Reconcile forever. A failed pass is reported and retried: state lives in the
        cluster, so the next pass starts from whatever the failed one managed to write."""
        while True:
            try:
                for pod, ip in self.reconcile():
                    print(f"{pod} -> {ip}", flush=True)
            except (ApiError, OSError) as error:
                print(f"pass failed, retrying: {error}", file=sys.stderr, flush=True)
            time.sleep(interval)


def _patch(api: KubeAPI, pod: Obj, operations: list[Obj]) -> bool:
    """Apply `operations` unless the pod changed since it was read; False if it had."""
    meta = pod["metadata"]
    guard = {
        "op": "test",
        "path": "/metadata/resourceVersion",
        "value": meta["resourceVersion"],
    }
    try:
        api.json_patch(
            f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", [guard, *operations]
        )
    except ApiError as error:
        if error.status in (404, 409, 422):
            return False  # changed or gone since it was read; the next pass sees it anew
        raise
    return True


def holders(pods: Iterable[Obj], pool_annotation: str) -> dict[tuple[str, str], str]:
    """(pool, ip) -> the pod holding it, for every existing pod (terminating ones included)."""
    taken: dict[tuple[str, str], str] = {}
    for pod in pods:
        annotations = pod["metadata"].get("annotations", {})
        if IP_ANNOTATION in annotations and pool_annotation in annotations:
            taken[(annotations[pool_annotation], annotations[IP_ANNOTATION])] = _key(pod)
    return taken


def gated(pods: Iterable[Obj]) -> list[Obj]:
    return [
        p
        for p in pods
        if any(g["name"] == GATE for g in p["spec"].get("schedulingGates", []))
        and not p["metadata"].get("deletionTimestamp")
    ]


def _key(pod: Obj) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def record_warning(api: KubeAPI, pod: Obj, reason: str, message: str) -> None:
    """One Warning event per pod and reason, counted up on every repeat like the scheduler's."""
    meta = pod["metadata"]
    name = f"{meta['name']}.{reason.lower()}.{meta['uid'][:8]}"
    path = f"/api/v1/namespaces/{meta['namespace']}/events"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        api.create(path, event)
        return
    except ApiError as error:
        if error.status != 409:
            raise
    # Seen before: count it up, as the scheduler's "(x20 over 4m)" does.
    existing = api.get(f"{path}/{name}")
    api.merge_patch(
        f"{path}/{name}",
        {"count": existing.get("count", 1) + 1, "lastTimestamp": now, "message": message},
    )


def parser() -> argparse.ArgumentParser:
    """The command line the module doc shows: global options first, then the command."""
    cli = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    cli.add_argument("--kubeconfig", type=Path, required=True)
    cli.add_argument(
        "--annotation",
        default=DEFAULT_POOL_ANNOTATION,
        help=f"pod annotation naming the pool (default {DEFAULT_POOL_ANNOTATION})",
    )
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install the IPPool type and the scheduling-gate policy")
    pool = commands.add_parser("pool", help="create or resize a pool")
    pool.add_argument("name")
    pool.add_argument("ips", nargs="+", metavar="IP")
    run = commands.add_parser("run", help="hand out IPs until interrupted")
    run.add_argument(
        "--retry-interval",
        type=float,
        default=1.0,
        help="seconds between FailedSchedulingIP warnings for one pod (default 1)",
    )
    run.add_argument(
        "--termination-delay",
        type=float,
        default=DEFAULT_TERMINATION_DELAY,
        help="seconds a deleted pod keeps its IP, as a kubelet's graceful stop "
        f"would (default {DEFAULT_TERMINATION_DELAY:g})",
    )
    commands.add_parser(
        "uninstall", help="delete everything install made and let go of the pods held"
    )
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    api = KubeAPI(args.kubeconfig)
    if args.command == "install":
        install(api, args.annotation)
    elif args.command == "uninstall":
        uninstall(api, args.annotation)
    elif args.command == "pool":
        set_pool(api, args.name, args.ips)
    else:
        try:
            Emulator(api, args.annotation, args.retry_interval, args.termination_delay).run()
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
