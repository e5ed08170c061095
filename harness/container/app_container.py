"""Build the app image and run it the way the chart's pod runs it, on the project's engine.

    python -m harness.container up       # start the engine, import the base image, build the app
    python -m harness.container run      # `up`, then start the app with the chart's settings
    python -m harness.container status   # the engine, its images and the harness's containers
    python -m harness.container down     # remove the harness's containers and stop the engine

The container settings are read from the chart's rendered pod (limits, user, read-only root,
capabilities, environment, the emptyDir at /tmp), so a change to the chart's defaults
changes what the image tests and the benchmark run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.chart.render import Manifests, render
from harness.container.baseimage import BaseImageError, ensure_base_image
from harness.container.engine import Engine, EngineError
from harness.core.proc import CommandError
from harness.core.retry import WaitTimeout, wait_for
from harness.ops import image

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Every container the harness starts carries this label, so `down` removes only those.
LABEL = "dummy-flask-app.harness=1"
BUILD_TIMEOUT_S = 900.0
HEALTHY_TIMEOUT_S = 30.0
POLL_S = 0.1

_CPU = re.compile(r"^([0-9.]+)(m?)$")
_MEMORY = re.compile(r"^([0-9]+)(Ki|Mi|Gi|k|M|G)?$")
_MEMORY_UNITS = {None: 1, "k": 1000, "M": 1000**2, "G": 1000**3}
_MEMORY_UNITS.update({"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3})


class ContainerError(Exception):
    """A container did not start or answer as expected; the message carries its logs."""


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity ("200m", "1", "0.5") in cores."""
    match = _CPU.match(str(quantity))
    if not match:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    value = float(match.group(1))
    return value / 1000 if match.group(2) else value


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("128Mi", "64M", "1Gi") in bytes."""
    match = _MEMORY.match(str(quantity))
    if not match:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2)]


@dataclass(frozen=True)
class PodSettings:
    """What the chart's pod asks of the container runtime, in docker's terms."""

    cpus: float
    memory_bytes: int
    memory_request_bytes: int
    user: str
    read_only: bool
    drop_capabilities: tuple[str, ...]
    no_new_privileges: bool
    tmpfs: tuple[str, ...]
    env: Mapping[str, str]
    container_port: int
    termination_grace_s: int


def pod_settings(manifests: Manifests) -> PodSettings:
    """The settings of the rendered chart's app container, translated for `docker run`."""
    pod = manifests.pod_template["spec"]
    container = manifests.app_container
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    resources = container["resources"]
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    tmpfs = []
    for volume in pod.get("volumes", []):
        empty_dir = volume.get("emptyDir")
        if empty_dir is None or volume["name"] not in mounts:
            raise ValueError(f"only emptyDir volumes can be run in docker, got {volume}")
        size = empty_dir.get("sizeLimit")
        tmpfs.append(mounts[volume["name"]] + (f":size={memory_bytes(size)}" if size else ""))
    env = {}
    for variable in container.get("env", []):
        if "value" not in variable:
            raise ValueError(f"only literal env values can be run in docker, got {variable}")
        env[variable["name"]] = variable["value"]
    [port] = [p["containerPort"] for p in container["ports"] if p["name"] == "http"]
    return PodSettings(
        cpus=cpu_cores(resources["limits"]["cpu"]),
        memory_bytes=memory_bytes(resources["limits"]["memory"]),
        memory_request_bytes=memory_bytes(resources["requests"]["memory"]),
        user=f"{security['runAsUser']}:{security['runAsGroup']}",
        read_only=bool(security.get("readOnlyRootFilesystem")),
        drop_capabilities=tuple(security.get("capabilities", {}).get("drop", ())),
        no_new_privileges=security.get("allowPrivilegeEscalation") is False,
        tmpfs=tuple(tmpfs),
        env=env,
        container_port=int(port),
        termination_grace_s=int(pod["terminationGracePeriodSeconds"]),
    )


def chart_pod_settings() -> PodSettings:
    """The chart's defaults, rendered with the pinned helm."""
    return pod_settings(render())


def run_args(
    settings: PodSettings,
    image_ref: str,
    *,
    name: str,
    env: Mapping[str, str] | None = None,
    volumes: Sequence[str] = (),
    command: Sequence[str] = (),
) -> list[str]:
    """`docker run` arguments for the pod's container; `env` replaces the chart's environment."""
    args = [
        "run",
        "--detach",
        "--name",
        name,
        "--label",
        LABEL,
        # Loopback only; docker picks a free host port (see Container.address).
        "--publish",
        f"127.0.0.1::{settings.container_port}",
        "--cpus",
        f"{settings.cpus:g}",
        "--memory",
        f"{settings.memory_bytes}b",
        # Kubernetes nodes run without swap: the limit is the whole budget.
        "--memory-swap",
        f"{settings.memory_bytes}b",
        "--user",
        settings.user,
    ]
    if settings.read_only:
        args.append("--read-only")
    for mount in settings.tmpfs:
        args += ["--tmpfs", mount]
    for capability in settings.drop_capabilities:
        args += ["--cap-drop", capability]
    if settings.no_new_privileges:
        args += ["--security-opt", "no-new-privileges"]
    for key, value in (settings.env if env is None else env).items():
        args += ["--env", f"{key}={value}"]
    for volume in volumes:
        args += ["--volume", volume]
    return [*args, image_ref, *command]


def build_app_image(engine: Engine, version: str | None = None, *, base_image: str) -> str:
    """Build the repo's Dockerfile on `base_image`; returns the image reference."""
    version = version or image.app_version()
    [build] = image.build_commands(version, base_image=base_image)
    # pip inside the build may meet an intercepting proxy: the host's CA bundle goes in as
    # the Dockerfile's optional secret, mounted for the pip step only.
    secret = ["--secret", f"id=pip_cert,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
    engine.docker(*build[1:-1], "--progress", "plain", *secret, build[-1], timeout=BUILD_TIMEOUT_S)
    return f"{image.REPOSITORY}:{version}"


@dataclass(frozen=True)
class MemorySample:
    """Memory of a container's processes at one moment, in bytes."""

    rss: int  # resident pages per process, added up: shared pages count once per process
    pss: int  # resident pages with shared ones split between the processes sharing them
    cgroup: int  # the memory cgroup's usage less inactive file cache: the kubelet's working set
    processes: int
    process_rss: tuple[int, ...] = ()  # each process's RSS, the container's first process first


@dataclass
class MemoryPeak:
    """The largest of each figure over several samples."""

    rss: int = 0
    pss: int = 0
    cgroup: int = 0
    samples: int = 0

    def add(self, sample: MemorySample) -> None:
        self.rss = max(self.rss, sample.rss)
        self.pss = max(self.pss, sample.pss)
        self.cgroup = max(self.cgroup, sample.cgroup)
        self.samples += 1


def _kib_field(text: str, name: str) -> int:
    match = re.search(rf"^{name}:\s+([0-9]+) kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def _memory_cgroup(pid: int) -> tuple[Path, str, str]:
    """The memory cgroup folder of `pid`, its usage file and its inactive-file key."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            return folder, "memory.usage_in_bytes", "total_inactive_file"
    unified = [line.split(":", 2)[2] for line in lines if line.startswith("0::")]
    return Path("/sys/fs/cgroup") / unified[0].lstrip("/"), "memory.current", "inactive_file"


def cgroup_cpu_seconds(pid: int) -> float:
    """CPU seconds the cgroup of `pid` (a container) has used so far, all its processes."""
    return cpu_seconds_of(Path(f"/proc/{pid}/cgroup").read_text(), Path("/sys/fs/cgroup"))


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds process `pid` (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def cpu_seconds_of(proc_cgroup: str, root: Path) -> float:
    """The CPU seconds of the cgroup a /proc/<pid>/cgroup text names, on cgroup v1 or v2."""
    lines = proc_cgroup.splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            folder = root / controllers / path.lstrip("/")
            return int((folder / "cpuacct.usage").read_text()) / 1e9  # nanoseconds
    unified = [line.split(":", 2)[2] for line in lines if line.startswith("0::")]
    stat = (root / unified[0].lstrip("/") / "cpu.stat").read_text()
    fields = dict(line.split() for line in stat.splitlines())
    return int(fields["usage_usec"]) / 1e6


@dataclass(frozen=True)
class Container:
    """A container started on the project's engine."""

    engine: Engine
    id: str
    name: str
    address: str  # host:port where the container's port is published on loopback

    def inspect(self) -> dict[str, Any]:
        return json.loads(self.engine.docker("inspect", self.id).stdout)[0]

    @property
    def state(self) -> dict[str, Any]:
        return self.inspect()["State"]

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def logs(self) -> str:
        done = self.engine.docker("logs", self.id, check=False)
        return done.stdout + done.stderr

    def wait_healthy(self, timeout: float = HEALTHY_TIMEOUT_S, path: str = "/_health") -> None:
        """Poll `path` until it answers 200; fail early when the container exits."""

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                    return response.status == 200
            except OSError:
                state = self.state
                if not state["Running"]:
                    raise ContainerError(
                        f"{self.name} exited with {state['ExitCode']} before {path} answered 200:"
                        f"\n{self.logs()}"
                    ) from None
                raise

        try:
            wait_for(answers, f"{self.name} to answer 200 on {self.url}{path}", timeout, POLL_S)
        except WaitTimeout as timed_out:
            raise ContainerError(f"{timed_out}\n{self.logs()}") from None

    def wait_exited(self, timeout: float) -> dict[str, Any] | None:
        """The container's final state once it has stopped, or None if it still runs."""
        try:
            return wait_for(
                lambda: None if (state := self.state)["Running"] else state,
                f"{self.name} to stop",
                timeout,
                POLL_S,
            )
        except WaitTimeout:
            return None

    def host_pids(self) -> list[int]:
        folder, _, _ = _memory_cgroup(self.state["Pid"])
        return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]

    def memory(self) -> MemorySample:
        first = self.state["Pid"]  # the container's PID 1: gunicorn's master
        folder, usage_file, inactive_key = _memory_cgroup(first)
        usage = int((folder / usage_file).read_text())
        stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
        pss = 0
        process_rss = []
        pids = [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
        for pid in sorted(pids, key=lambda pid: (pid != first, pid)):
            try:
                rss = _kib_field(Path(f"/proc/{pid}/status").read_text(), "VmRSS")
                pss += _kib_field(Path(f"/proc/{pid}/smaps_rollup").read_text(), "Pss")
            except FileNotFoundError:
                continue  # the process ended between listing and reading
            process_rss.append(rss)
        working_set = max(usage - int(stat.get(inactive_key, 0)), 0)
        return MemorySample(
            rss=sum(process_rss),
            pss=pss,
            cgroup=working_set,
            processes=len(pids),
            process_rss=tuple(process_rss),
        )

    def cpu_seconds(self) -> float:
        """CPU seconds the container's processes have used since it started."""
        return cgroup_cpu_seconds(self.state["Pid"])

    def engine_cpu_seconds(self) -> float:
        """CPU seconds of the engine's side of this container, outside its cgroup, so far.

        That is dockerd, the containerd it runs, and this container's shim (the parent of its
        PID 1), which reads the container's stdout and stderr and passes them to dockerd's
        log driver. dockerd and containerd serve every container and client, so this counts
        their other work too.
        """
        dockerd = self.engine.pid()
        shim = parent_pid(self.state["Pid"])
        pids = {shim, *([dockerd, *child_pids(dockerd)] if dockerd else [])}
        return sum(process_cpu_seconds(pid) for pid in pids)

    def oom_kills(self) -> int:
        """Processes the kernel's OOM killer has ended in this container (a worker, say)."""
        folder, usage_file, _ = _memory_cgroup(self.state["Pid"])
        events = "memory.oom_control" if usage_file == "memory.usage_in_bytes" else "memory.events"
        fields = dict(line.split() for line in (folder / events).read_text().splitlines())
        return int(fields.get("oom_kill", 0))

    def remove(self) -> None:
        self.engine.docker("rm", "--force", self.id, check=False)


class MemoryMonitor:
    """Samples a container's memory on a thread while in a `with` block; `peak` holds the maxima."""

    def __init__(self, container: Container, interval_s: float = 0.5) -> None:
        self.peak = MemoryPeak()
        self._container = container
        self._interval = interval_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-monitor", daemon=True)

    def __enter__(self) -> MemoryMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            try:
                self.peak.add(self._container.memory())
            except (FileNotFoundError, ProcessLookupError, CommandError):
                return  # the container ended; its state says why
            if self._done.wait(self._interval):
                return


def start_container(engine: Engine, args: Sequence[str], name: str) -> Container:
    engine.docker("rm", "--force", name, check=False)
    container_id = engine.docker(*args).stdout.strip()
    # "8000/tcp -> 127.0.0.1:49153": docker chose the host port when the container started.
    ports = engine.docker("port", container_id).stdout
    return Container(engine, container_id, name, ports.splitlines()[0].rsplit(" ", 1)[1])


def harness_containers(engine: Engine) -> list[str]:
    out = engine.docker("ps", "--all", "--quiet", "--filter", f"label={LABEL}").stdout
    return out.split()


def up(engine: Engine) -> str:
    """Start the engine if needed and build the app image; returns the image reference."""
    if engine.start():
        print(f"dockerd started: DOCKER_HOST={engine.host}", flush=True)
    else:
        print(f"dockerd already running: DOCKER_HOST={engine.host}", flush=True)
    base = ensure_base_image(engine)
    started = time.monotonic()
    reference = build_app_image(engine, base_image=base)
    print(f"built {reference} on {base} in {time.monotonic() - started:.1f} s", flush=True)
    return reference


def down(engine: Engine) -> None:
    if engine.is_running():
        for container_id in harness_containers(engine):
            engine.docker("rm", "--force", container_id, check=False)
    engine.stop()
    print("dockerd stopped")


def status(engine: Engine) -> None:
    version = engine.server_version()
    if version is None:
        print(f"dockerd: not running (socket {engine.socket})")
        return
    print(f"dockerd {version}: DOCKER_HOST={engine.host} (pid {engine.pid()})")
    print(engine.docker("images").stdout.rstrip())
    print(engine.docker("ps", "--all", "--filter", f"label={LABEL}").stdout.rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.container", description=__doc__)
    parser.add_argument("command", choices=["up", "run", "status", "down"])
    args = parser.parse_args(argv)
    engine = Engine()
    try:
        if args.command == "up":
            up(engine)
        elif args.command == "run":
            reference = up(engine)
            settings = chart_pod_settings()
            name = "dummy-flask-app"
            container = start_container(engine, run_args(settings, reference, name=name), name)
            container.wait_healthy()
            print(f"{name} answers on {container.url}/ (stop it with `down`)")
        elif args.command == "status":
            status(engine)
        else:
            down(engine)
    except (EngineError, BaseImageError, ContainerError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
