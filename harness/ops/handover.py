"""Move a release's pods to a workload of the other kind, one pod (and one IP) at a time.

A kind switch with one `helm upgrade` creates the new workload with all its replicas while
the old one still holds every IP of the pool, then deletes the old one: for a few seconds no
pod is Ready. A hand-over instead:

1. renders the chart with the target values and creates the new workload from it with 0
   replicas, and what its pods need that is not there yet (the headless Service a
   StatefulSet names, the pods' ServiceAccount), carrying Helm's ownership metadata so that
   the release can adopt them;
2. for each of the `replicaCount` pods: scales the old workload down by one and waits until
   that pod is gone (its IP free), then scales the new one up by one and waits until the new
   pod is Ready; so at least `replicaCount - 1` pods are Ready throughout, and no pod ever
   waits for an IP;
3. runs `helm upgrade` with the target values, which adopts the new workload unchanged (same
   template, same replicas: no pod restarts) and deletes the old one, now at 0 replicas.

If a new pod is not Ready in time (or is held by something that does not pass, see
harness.ops.stall), the hand-over rolls back: the new workload goes to 0, the old one back to
its replicas, what step 1 created is deleted, and the command fails saying so. Nothing of the
old side is deleted before every new pod is Ready.

The replica count is the one the old workload runs, unless replicaCount is given. A run that
is killed is finished by the same command: step 1 marks what it creates with where the pods
come from and how many the old workload ran (FROM, OLD_REPLICAS), a rerun takes those objects
up, makes only the scale steps not yet made, and with the old workload gone only lets helm
finish its upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.core.objects import Obj, is_ready
from harness.core.proc import CommandError
from harness.core.retry import WaitTimeout, wait_for
from harness.ops import cli
from harness.ops.deploy import DeployRequest, commands, execute, stall_watch
from harness.ops.kubectl import Kubectl
from harness.ops.stall import StallError, StallWatch

KINDS = ("Deployment", "StatefulSet")
POLL_S = 0.5
# Written on every object a hand-over creates: where its pods come from, and how many the old
# workload ran. A rerun after an interruption reads them to resume (the rerun may come from
# another machine, so nothing is kept in a local file).
FROM = "dummy-flask-app.quantil.com/handover-from"
OLD_REPLICAS = "dummy-flask-app.quantil.com/handover-old-replicas"


class HandOverError(cli.OperatorError):
    """The hand-over could not finish; the message says what was put back."""

    exit_code = cli.Exit.ROLLED_BACK


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    uid: str = ""

    @property
    def resource(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def pods_of(kubectl: Kubectl, workload: Workload) -> list[Obj]:
    """The pods `workload` controls (through its ReplicaSets for a Deployment), terminating
    ones included: its selector alone would also match the other kind's pods."""
    owners = {workload.uid}
    if workload.kind == "Deployment":
        owners |= {
            rs["metadata"]["uid"]
            for rs in kubectl.items("replicasets")
            if _owned_by(rs, {workload.uid})
        }
    return [pod for pod in kubectl.items("pods") if _owned_by(pod, owners)]


def _owned_by(obj: Obj, uids: set[str]) -> bool:
    return any(ref.get("uid") in uids for ref in obj["metadata"].get("ownerReferences", []))


def release_of(obj: Obj) -> str | None:
    """The Helm release `obj` belongs to, by Helm's ownership annotation."""
    return obj["metadata"].get("annotations", {}).get("meta.helm.sh/release-name")


def _same_release(existing: Obj, obj: Obj) -> bool:
    """Whether `existing` belongs to the Helm release `obj` is made adoptable by."""
    ours = release_of(existing)
    return ours is not None and ours == release_of(obj)


def adoptable(objects: Sequence[Obj], release: str, namespace: str) -> list[Obj]:
    """`objects` with the metadata by which Helm adopts an existing object into a release."""
    adopted = []
    for obj in objects:
        obj = json.loads(json.dumps(obj))
        annotations = obj["metadata"].setdefault("annotations", {})
        annotations["meta.helm.sh/release-name"] = release
        annotations["meta.helm.sh/release-namespace"] = namespace
        obj["metadata"].setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
        adopted.append(obj)
    return adopted


@dataclass
class HandOver:
    """Moves `replicas` pods from `old` to the workload `new_objects` describe (module doc)."""

    kubectl: Kubectl
    old: Workload
    # The new workload first, then what its pods need (headless Service, ServiceAccount).
    new_objects: list[Obj]
    replicas: int
    # The run's end: the hand-over's waits share it; a roll back gets its --timeout afresh.
    deadline: cli.Deadline
    old_replicas: int | None = None  # when the old workload runs another count
    # The new objects are created and scaled under helm's own field manager (its binary's
    # name), so that Helm 4's server-side apply finds every field its own after adopting
    # them; any other manager would own fields (the image, the replicas) that later
    # upgrades change, and Helm 4 would refuse those upgrades as conflicts.
    field_manager: str = "helm"
    watch: Callable[[], StallWatch | None] = lambda: None
    created: list[str] | None = None
    # The release's autoscaler as it ran: deleted while pods move, so that it scales neither
    # workload meanwhile; a roll back creates it again (helm does, once it adopts the new).
    autoscaler: Obj | None = None

    @property
    def new(self) -> Workload:
        workload = self.new_objects[0]
        return Workload(workload["kind"], workload["metadata"]["name"])

    def run(self) -> None:
        new = self._create()
        old_replicas = self.replicas if self.old_replicas is None else self.old_replicas
        if self.autoscaler is not None:
            name = self.autoscaler["metadata"]["name"]
            print(f"== hold the autoscaler back: delete horizontalpodautoscaler/{name}", flush=True)
            self.kubectl("delete", f"horizontalpodautoscaler/{name}", "--ignore-not-found")
        try:
            for step in range(1, max(self.replicas, old_replicas) + 1):
                print(f"== pod {step} of {self.replicas}", flush=True)
                # Each scale is made only if the workload is not there yet, so that a resumed
                # hand-over repeats no step (and never scales the old workload back up).
                if step <= old_replicas:
                    if self._spec_replicas(self.old) > old_replicas - step:
                        self.kubectl.scale(self.old.resource, old_replicas - step)
                    self._wait_for_pods(self.old, old_replicas - step, ready=False)
                if step <= self.replicas:
                    if self._spec_replicas(new) < step:
                        self._scale_new(step)
                    self._wait_for_pods(new, step, ready=True, watch=self.watch())
        except (WaitTimeout, StallError) as error:
            self._roll_back(new)
            raise HandOverError(
                f"{cli.one_line(error)}; rolled back: {self.old.resource} has its "
                f"{old_replicas} Ready pods again and {', '.join(self.created or [])} "
                "was deleted"
            ) from None

    def _spec_replicas(self, workload: Workload) -> int:
        found = self.kubectl.get(workload.resource)
        return int(found["spec"].get("replicas", 1)) if found else 0

    def _scale_new(self, replicas: int) -> None:
        workload = self._marked(self.new_objects[0])
        print(f"  scale {self.new.resource} to {replicas}", flush=True)
        scaled = {**workload, "spec": {**workload["spec"], "replicas": replicas}}
        self.kubectl.apply(scaled, self.field_manager)

    def _create(self) -> Workload:
        """Create the new objects (the workload at 0 replicas), each marked with where the
        pods come from; the workload's UID. What the release already has (its
        ServiceAccount) is left as it is. Objects an interrupted hand-over from the same old
        workload made are taken up as they are, and the hand-over resumes with them;
        anything else that exists is in the way."""
        workload, *others = self.new_objects
        workload = {**workload, "spec": {**workload["spec"], "replicas": 0}}
        self.created = []
        for obj in (workload, *others):
            resource = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
            existing = self.kubectl.get(resource)
            marks = (existing or {}).get("metadata", {}).get("annotations", {})
            if existing is not None and marks.get(FROM) == self.old.resource:
                if obj is workload:
                    self.old_replicas = int(marks[OLD_REPLICAS])
                    print(f"  resume with {resource}, made by an interrupted hand-over", flush=True)
                self.created.append(resource)
                continue
            if existing is not None and obj is workload and _same_release(existing, obj):
                # An interrupted run got as far as helm's adoption: every pod is over.
                self.old_replicas = int(existing["spec"].get("replicas", 1))
                print(f"  {resource} is the release's already; nothing left to move", flush=True)
                continue
            if existing is not None and obj is not workload and _same_release(existing, obj):
                continue
            if existing is not None:
                raise cli.Refused(
                    f"{resource} already exists in {self.kubectl.namespace} and was not made "
                    f"by a hand-over from {self.old.resource}; a hand-over needs to create it"
                )
            print(f"  create {resource}", flush=True)
            self.kubectl.apply(self._marked(obj), self.field_manager)
            self.created.append(resource)
        made = self.kubectl.get(self.new.resource)
        assert made is not None
        return replace(self.new, uid=made["metadata"]["uid"])

    def _marked(self, obj: Obj) -> Obj:
        old_replicas = self.replicas if self.old_replicas is None else self.old_replicas
        marks = {FROM: self.old.resource, OLD_REPLICAS: str(old_replicas)}
        metadata = obj["metadata"]
        annotations = {**metadata.get("annotations", {}), **marks}
        return {**obj, "metadata": {**metadata, "annotations": annotations}}

    def _wait_for_pods(
        self,
        workload: Workload,
        count: int,
        *,
        ready: bool,
        watch: StallWatch | None = None,
        deadline: cli.Deadline | None = None,
    ) -> None:
        def reached() -> bool:
            pods = pods_of(self.kubectl, workload)
            if watch is not None:
                watch.check()
            if ready:
                return sum(is_ready(pod) for pod in pods) >= count
            return len(pods) <= count

        what = (
            f"{count} Ready pods of {workload.resource}"
            if ready
            else (f"{workload.resource} to be down to {count} pods")
        )
        # Only a failed kubectl call is worth another look: a refusal (Forbidden) or a bug
        # (a KeyError) would fail again on every poll until the timeout.
        seconds = (deadline or self.deadline).seconds_left()
        wait_for(reached, what, seconds, POLL_S, transient=(CommandError,))

    def _roll_back(self, new: Workload) -> None:
        print(f"== rolling back to {self.old.resource}", flush=True)
        again = cli.Deadline.start(self.deadline.timeout)
        self._scale_new(0)
        self._wait_for_pods(new, 0, ready=False, deadline=again)
        old_replicas = self.replicas if self.old_replicas is None else self.old_replicas
        self.kubectl.scale(self.old.resource, old_replicas)
        self.kubectl.forget_scaling(self.old.resource)
        self._wait_for_pods(self.old, old_replicas, ready=True, deadline=again)
        for resource in reversed(self.created or []):
            self.kubectl("delete", resource, "--wait=true")
        if self.autoscaler is not None:
            metadata = self.autoscaler["metadata"]
            kept = ("name", "namespace", "labels", "annotations")
            again = {
                "apiVersion": self.autoscaler["apiVersion"],
                "kind": self.autoscaler["kind"],
                "metadata": {key: metadata[key] for key in kept if key in metadata},
                "spec": self.autoscaler["spec"],
            }
            self.kubectl.apply(again, self.field_manager)


def hand_over(
    target: DeployRequest,
    to_kind: str,
    old: Obj | None,
    helm: Path,
    kubectl_path: Path,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    *,
    before_helm: Callable[[], None] = lambda: None,
) -> None:
    """Hand `old`'s pods over to the release's `to_kind` workload, then let the release adopt
    it (the module doc); `before_helm` runs between the two. A dry run prints the steps."""
    switched = target.with_set(**{"workload.kind": to_kind})
    kubectl = Kubectl(kubectl_path, target.namespace, env)
    if old is not None and target.value("replicaCount") is None:
        switched = _keeping_replicas(switched, old, helm, kubectl)
    manifests = switched.manifests(helm)
    new_workload = manifests.workload
    autoscaler = None
    if "replicas" not in new_workload["spec"] and old is not None:
        # With autoscaling on the chart leaves the count to the autoscaler: the hand-over
        # moves the pods that run now, and holds the autoscaler back until helm adopts the
        # new workload (the chart then keeps its count, and recreates the autoscaler for it).
        new_workload["spec"]["replicas"] = _running_replicas(
            new_workload, target.release, old, kubectl
        )
        autoscaler = kubectl.get(f"horizontalpodautoscaler/{new_workload['metadata']['name']}")
    extra = [
        o
        for o in manifests
        if (o["kind"] == "Service" and o["spec"].get("clusterIP") == "None")
        or o["kind"] == "ServiceAccount"
    ]
    if old is None:
        old_name = f"{KINDS[1 - KINDS.index(to_kind)].lower()}/{new_workload['metadata']['name']}"
    else:
        old_name = f"{old['kind'].lower()}/{old['metadata']['name']}"
    new_name = f"{to_kind.lower()}/{new_workload['metadata']['name']}"
    if dry_run:
        created = ", ".join(f"{o['kind']} {o['metadata']['name']}" for o in [new_workload, *extra])
        print(f"# hand {old_name}'s pods over to a new {to_kind} one at a time:")
        print(
            f"+ {kubectl_path} --namespace {target.namespace} apply --server-side "
            f"--field-manager={helm.name} --filename - "
            f"# {created} (those not there yet); the {to_kind} at 0 replicas; ownership "
            f"metadata of {target.release}"
        )
        if "replicas" not in new_workload["spec"]:
            print(
                f"# the autoscaler {new_workload['metadata']['name']} is deleted for the "
                f"hand-over, which moves the pods {old_name} runs; helm creates it again"
            )
        print(
            f"# then, per pod: scale {old_name} down by one, wait until the pod is gone; "
            f"scale {new_name} up by one, wait until it is Ready"
        )
        execute(commands(switched, helm, kubectl_path), env, dry_run=True)
        return
    assert old is not None
    HandOver(
        Kubectl(kubectl_path, target.namespace, env),
        Workload(old["kind"], old["metadata"]["name"], old["metadata"]["uid"]),
        adoptable([new_workload, *extra], target.release, target.namespace),
        int(new_workload["spec"]["replicas"]),
        target.deadline,
        old_replicas=int(old["spec"].get("replicas", 1)),
        field_manager=helm.name,
        watch=lambda: stall_watch(switched, helm, kubectl_path, env),
        autoscaler=autoscaler,
    ).run()
    before_helm()
    print(f"== helm adopts {new_name}", flush=True)
    upgrade = commands(switched, helm, kubectl_path)  # helm gets what is left of the run
    watch = stall_watch(switched, helm, kubectl_path, env)
    execute(upgrade, env, watch=watch, deadline=target.deadline)


def _running_replicas(rendered: Obj, release: str, old: Obj, kubectl: Kubectl) -> int:
    """The replica count `old` ran when the hand-over to `rendered` (the new workload as the
    chart renders it) began. A rerun reads it from what the interrupted run wrote on the new
    workload, or, once the release adopted it, from the new workload itself."""
    new = kubectl.get(f"{rendered['kind'].lower()}/{rendered['metadata']['name']}")
    resource = f"{old['kind'].lower()}/{old['metadata']['name']}"
    marks = (new or {}).get("metadata", {}).get("annotations", {})
    if marks.get(FROM) == resource:
        return int(marks[OLD_REPLICAS])
    if new is not None and release_of(new) == release:
        return int(new["spec"].get("replicas", 1))
    return int(old["spec"].get("replicas", 1))


def _keeping_replicas(
    target: DeployRequest, old: Obj, helm: Path, kubectl: Kubectl
) -> DeployRequest:
    """`target` with the replica count `old` ran when the hand-over began, so that moving
    pods never changes how many run; said when the values would have given another count."""
    rendered = target.manifests(helm).workload
    running = _running_replicas(rendered, target.release, old, kubectl)
    wanted = rendered["spec"].get("replicas")
    if wanted is not None and wanted != running:
        print(
            f"keeping the {running} pods {old['kind'].lower()}/{old['metadata']['name']} runs "
            f"(the values say {wanted}); give --set replicaCount=N to change it, and give it "
            "to later upgrades too",
            flush=True,
        )
    return target.with_set(replicaCount=str(running))


def switch_kind(
    target: DeployRequest,
    to_kind: str,
    helm: Path,
    kubectl_path: Path,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[Sequence[str]], None] = lambda deleted: None,
) -> None:
    """Hand the release's pods over to a `to_kind` workload; helm then deletes the old one,
    which `confirm` is told before anything changes."""
    if to_kind not in KINDS:
        raise cli.Refused(f"the kind to switch to must be one of {', '.join(KINDS)}")
    from_kind = KINDS[1 - KINDS.index(to_kind)]
    workload = target.manifests(helm).workload
    name = workload["metadata"]["name"]
    old = None
    if not dry_run:
        kubectl = Kubectl(kubectl_path, target.namespace, env)
        old = kubectl.get(f"{from_kind.lower()}/{name}")
        if old is None:
            finish_hand_over(target, to_kind, name, helm, kubectl, env)
            return
        deleted = [
            f"{from_kind.lower()}/{name} in {target.namespace}, once its pods are handed over"
        ]
        if "replicas" not in workload["spec"]:
            deleted.append(
                f"horizontalpodautoscaler/{name} while they move (helm creates it again)"
            )
        confirm(deleted)
    hand_over(target, to_kind, old, helm, kubectl_path, env, dry_run)


def finish_hand_over(
    target: DeployRequest,
    to_kind: str,
    name: str,
    helm: Path,
    kubectl: Kubectl,
    env: Mapping[str, str] | None = None,
) -> None:
    """With no old workload left, a hand-over is done when the release runs `to_kind`: an
    interrupted run may not have seen helm's upgrade through, so it runs again (an upgrade
    that changes nothing restarts no pod). Anything else has nothing to hand over."""
    new = kubectl.get(f"{to_kind.lower()}/{name}")
    if new is None or release_of(new) != target.release:
        raise cli.Refused(
            f"no {KINDS[1 - KINDS.index(to_kind)]} {name} in {kubectl.namespace} to hand over "
            f"from, and no {to_kind} of release {target.release} there either; is the release "
            "installed in this namespace?"
        )
    print(f"== {to_kind.lower()}/{name} already runs the pods; helm upgrade finishes", flush=True)
    switched = target.with_set(**{"workload.kind": to_kind})
    if target.value("replicaCount") is None:
        switched = switched.with_set(replicaCount=str(new["spec"]["replicas"]))
    execute(commands(switched, helm, Path(kubectl.path)), env, deadline=target.deadline)
