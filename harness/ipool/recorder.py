"""Watch the app's pods through a rollout and record what the pool and the users saw.

A background thread lists the pods a few times a second and keeps the extremes: the most
pods at once (terminating ones apart, as the rollout plan counts them), the most pool IPs
held at once (terminating pods included: they hold theirs until they are gone), the fewest
Ready pods, how long no pod was Ready, and how long any Ready pod went without a public IP.
It also notes whether two pods ever held the same IP. FailedSchedulingIP warnings are
counted from the namespace's events at the end.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.core.objects import Obj, is_ready, label_selector
from harness.ipool.emulator import IP_ANNOTATION, REASON
from harness.kube.api import KubeAPI


@dataclass
class Measurement:
    """The extremes of one rollout."""

    wall_time: float = 0.0
    peak_pods: int = 0
    peak_ips: int = 0
    min_ready: int | None = None
    zero_ready_seconds: float = 0.0
    ready_without_ip_seconds: float = 0.0
    failed_scheduling_events: int = 0
    duplicate_ips: list[str] = field(default_factory=list)
    completed: bool = False
    samples: int = 0

    def as_row(self) -> dict[str, object]:
        return {
            "wall time (s)": round(self.wall_time, 1),
            "peak pods": self.peak_pods,
            "peak IPs": self.peak_ips,
            "min Ready": self.min_ready,
            "zero-Ready time (s)": round(self.zero_ready_seconds, 1),
            "Ready without IP (s)": round(self.ready_without_ip_seconds, 1),
            "FailedSchedulingIP events": self.failed_scheduling_events,
            "completed": self.completed,
        }


class Recorder:
    """`with Recorder(api, namespace, selector) as record:` … `record.measurement`."""

    def __init__(
        self, api: KubeAPI, namespace: str, selector: Mapping[str, str], interval: float = 0.1
    ) -> None:
        self._api = api
        self._namespace = namespace
        query = urllib.parse.urlencode({"labelSelector": label_selector(selector)})
        self._pods_path = f"/api/v1/namespaces/{namespace}/pods?{query}"
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._error: BaseException | None = None
        self._events_before = 0
        self.measurement = Measurement()

    def __enter__(self) -> Recorder:
        self._events_before = self._failed_scheduling()
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.measurement.wall_time = time.monotonic() - self._started
        self.measurement.failed_scheduling_events = self._failed_scheduling() - self._events_before
        if self._error is not None and exc_info[0] is None:
            raise self._error

    def _loop(self) -> None:
        last = time.monotonic()
        try:
            while not self._stop.is_set():
                pods = self._api.get(self._pods_path).get("items", [])
                now = time.monotonic()
                self._sample(pods, now - last)
                last = now
                self._stop.wait(self._interval)
        except BaseException as error:  # surfaced by __exit__
            self._error = error

    def _sample(self, pods: list[Obj], elapsed: float) -> None:
        m = self.measurement
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in live if is_ready(p)]
        ips = [p["metadata"].get("annotations", {}).get(IP_ANNOTATION) for p in pods]
        held = [ip for ip in ips if ip]
        m.samples += 1
        m.peak_pods = max(m.peak_pods, len(live))
        m.peak_ips = max(m.peak_ips, len(set(held)))
        m.min_ready = len(ready) if m.min_ready is None else min(m.min_ready, len(ready))
        if not ready:
            m.zero_ready_seconds += elapsed
        if any(IP_ANNOTATION not in p["metadata"].get("annotations", {}) for p in ready):
            m.ready_without_ip_seconds += elapsed
        for ip in {ip for ip in held if held.count(ip) > 1}:
            if ip not in m.duplicate_ips:
                m.duplicate_ips.append(ip)

    def _failed_scheduling(self) -> int:
        events = self._api.items(f"/api/v1/namespaces/{self._namespace}/events")
        return sum(e.get("count") or 1 for e in events if e.get("reason") == REASON)
