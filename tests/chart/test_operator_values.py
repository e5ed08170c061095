"""The values operators expect from an app chart render what their `## @param` lines say."""

from __future__ import annotations

import re

import pytest

from app.settings import VARIABLES
from harness.chart.render import CHART_DIR

DIGEST = "sha256:" + "ab" * 32
# A label value: at most 63 characters, alphanumeric at both ends (Kubernetes' own rule).
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def labels_of_everything(manifests):
    """Every label map of a render: each object's, and its pod template's."""
    for obj in manifests:
        yield obj["kind"], obj["metadata"].get("labels", {})
        template = obj.get("spec", {}).get("template")
        if template:
            yield f"{obj['kind']} pods", template["metadata"]["labels"]


@pytest.mark.parametrize(
    "tag",
    ["1." + "2" * 126, "1.5.0-", "1.5.0_", "1.5.0.", "_1.5.0"],
    ids=[
        "128-chars",
        "ends-in-dash",
        "ends-in-underscore",
        "ends-in-dot",
        "starts-with-underscore",
    ],
)
def test_any_tag_the_schema_allows_renders_a_valid_version_label(render, tag):
    manifests = render(set_string={"image.tag": tag})
    assert manifests.app_container["image"].endswith(":" + tag)
    versions = {
        where: labels["app.kubernetes.io/version"]
        for where, labels in labels_of_everything(manifests)
        if "app.kubernetes.io/version" in labels
    }
    assert {"Deployment", "Deployment pods", "Service"} <= versions.keys()
    for where, value in versions.items():
        assert len(value) <= 63 and LABEL_VALUE.match(value), (where, value)
        assert tag.strip("-_.").startswith(value), (where, value)


def test_image_digest_pins_the_image_and_keeps_the_tag_in_the_label(render):
    manifests = render(set={"image.tag": "1.5.0", "image.digest": DIGEST})
    assert manifests.app_container["image"].endswith(f"dummy-flask-app:1.5.0@{DIGEST}")
    assert manifests.workload["metadata"]["labels"]["app.kubernetes.io/version"] == "1.5.0"


def test_common_labels_go_on_every_object_and_every_pod(render):
    manifests = render(
        values={
            "commonLabels": {"team": "oe-tools"},
            "workload": {"kind": "StatefulSet"},
            "ingress": {"enabled": True, "hosts": [{"host": "app.example"}]},
        }
    )
    for where, labels in labels_of_everything(manifests):
        assert labels.get("team") == "oe-tools", where


def test_pod_labels_win_over_common_labels_on_the_pods_and_repeat_no_key(render):
    manifests = render(values={"commonLabels": {"team": "a"}, "podLabels": {"team": "b"}})
    assert manifests.pod_template["metadata"]["labels"]["team"] == "b"
    assert manifests.workload["metadata"]["labels"]["team"] == "a"


def test_priority_class_and_min_ready_seconds_reach_both_kinds(render):
    for kind in ("Deployment", "StatefulSet"):
        manifests = render(
            set={"workload.kind": kind, "priorityClassName": "edge", "minReadySeconds": 10}
        )
        assert manifests.workload["spec"]["minReadySeconds"] == 10, kind
        assert manifests.pod_template["spec"]["priorityClassName"] == "edge", kind


def test_a_startup_probe_is_rendered_only_when_given(render):
    assert "startupProbe" not in render().app_container
    probe = {"httpGet": {"path": "/_health", "port": "http"}, "failureThreshold": 30}
    assert render(values={"startupProbe": probe}).app_container["startupProbe"] == probe


HEALTH = {"path": "/_health", "port": "http"}


def test_a_startup_probe_of_timings_only_gets_the_charts_handler(render):
    probe = render(values={"startupProbe": {"periodSeconds": 1, "failureThreshold": 30}})
    assert probe.app_container["startupProbe"] == {
        "httpGet": HEALTH,
        "periodSeconds": 1,
        "failureThreshold": 30,
    }


@pytest.mark.parametrize(
    "handler",
    [
        {"exec": {"command": ["/bin/true"]}},
        {"tcpSocket": {"port": "http"}},
        {"grpc": {"port": 9000}},
    ],
    ids=["exec", "tcpSocket", "grpc"],
)
@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe", "startupProbe"])
def test_a_probe_handler_of_ones_own_replaces_the_charts(render, probe, handler):
    """A values file's handler used to be merged with the default httpGet, and the API server
    refused the pod for two handlers (issue 20)."""
    rendered = render(values={probe: handler}).app_container[probe]
    assert "httpGet" not in rendered
    assert handler.items() <= rendered.items()


def test_an_http_probe_of_ones_own_keeps_the_charts_port(render):
    container = render(set={"livenessProbe.httpGet.path": "/live"}).app_container
    assert container["livenessProbe"]["httpGet"] == {"path": "/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == HEALTH


def test_a_probe_set_to_null_is_not_rendered(render):
    assert "livenessProbe" not in render(set={"livenessProbe": None}).app_container


def test_without_a_cluster_an_autoscaled_workload_leaves_its_replicas_out(render):
    """helm template has no cluster to look up: the count is the autoscaler's. On a cluster
    the chart keeps the running count (tests/e2e/test_autoscaling.py)."""
    workload = render(set={"autoscaling.enabled": True}).workload
    assert "replicas" not in workload["spec"]


def test_lifecycle_hooks_join_the_prestop_sleep(render):
    post_start = {"exec": {"command": ["true"]}}
    lifecycle = render(values={"lifecycle": {"postStart": post_start}}).app_container["lifecycle"]
    assert lifecycle == {"postStart": post_start, "preStop": {"sleep": {"seconds": 5}}}


def test_a_lifecycle_prestop_replaces_the_sleep_when_the_sleep_is_off(render):
    pre_stop = {"httpGet": {"path": "/drain", "port": "http"}}
    container = render(
        values={"lifecycle": {"preStop": pre_stop}, "preStopSleepSeconds": 0}
    ).app_container
    assert container["lifecycle"] == {"preStop": pre_stop}


def test_extra_environment_follows_the_charts_own(render):
    manifests = render(
        values={
            "extraEnv": [{"name": "FEATURE", "value": "on"}],
            "extraEnvFrom": [{"configMapRef": {"name": "settings"}}],
        }
    )
    env = manifests.app_container["env"]
    assert env[-1] == {"name": "FEATURE", "value": "on"}
    assert [e["name"] for e in env[:-1]] == list(VARIABLES)
    assert manifests.app_container["envFrom"] == [{"configMapRef": {"name": "settings"}}]


def test_the_access_log_can_be_turned_off(render):
    env = {
        e["name"]: e["value"]
        for e in render(set={"gunicorn.accessLog": False}).app_container["env"]
    }
    assert env["GUNICORN_ACCESS_LOG"] == "false"


def test_extra_volumes_are_mounted_next_to_tmp(render):
    manifests = render(
        values={
            "extraVolumes": [{"name": "certs", "secret": {"secretName": "tls"}}],
            "extraVolumeMounts": [{"name": "certs", "mountPath": "/certs", "readOnly": True}],
        }
    )
    assert [v["name"] for v in manifests.pod_template["spec"]["volumes"]] == ["tmp", "certs"]
    assert [m["mountPath"] for m in manifests.app_container["volumeMounts"]] == ["/tmp", "/certs"]


def test_an_existing_service_account_is_used_and_none_is_created(render):
    manifests = render(set={"serviceAccount.create": False, "serviceAccount.name": "shared"})
    assert manifests.of_kind("ServiceAccount") == []
    assert manifests.pod_template["spec"]["serviceAccountName"] == "shared"


def test_without_a_service_account_the_pods_use_the_namespace_default(render):
    manifests = render(set={"serviceAccount.create": False})
    assert "serviceAccountName" not in manifests.pod_template["spec"]


def test_the_token_is_mounted_only_when_asked(render):
    manifests = render(
        values={"serviceAccount": {"automountToken": True, "annotations": {"team": "a"}}}
    )
    account = manifests.get("ServiceAccount")
    assert account["automountServiceAccountToken"] is True
    assert account["metadata"]["annotations"] == {"team": "a"}
    assert manifests.pod_template["spec"]["automountServiceAccountToken"] is True


def test_a_constraint_with_its_own_selector_keeps_it(render):
    constraint = {
        "maxSkew": 2,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"tier": "web"}},
    }
    spec = render(values={"topologySpreadConstraints": [constraint]}).pod_template["spec"]
    assert spec["topologySpreadConstraints"] == [constraint]


def test_an_empty_spread_list_renders_no_constraints(render):
    spec = render(values={"topologySpreadConstraints": []}).pod_template["spec"]
    assert "topologySpreadConstraints" not in spec


def test_affinity_is_passed_through(render):
    affinity = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dummy-flask-app"}},
                }
            ]
        }
    }
    assert render(values={"affinity": affinity}).pod_template["spec"]["affinity"] == affinity


def test_an_autoscaled_release_leaves_the_replicas_to_the_autoscaler(render):
    for kind in ("Deployment", "StatefulSet"):
        manifests = render(set={"workload.kind": kind, "autoscaling.enabled": True})
        assert "replicas" not in manifests.workload["spec"], kind
        hpa = manifests.get("HorizontalPodAutoscaler", "dummy-flask-app")["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": kind,
            "name": "dummy-flask-app",
        }
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]


def test_the_autoscaler_scales_on_memory_and_behaviour_when_asked(render):
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 600}}
    hpa = render(
        values={
            "autoscaling": {
                "enabled": True,
                "targetCPUUtilizationPercentage": None,
                "targetMemoryUtilizationPercentage": 75,
                "behavior": behavior,
            }
        }
    ).get("HorizontalPodAutoscaler")["spec"]
    assert hpa["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "memory",
                "target": {"type": "Utilization", "averageUtilization": 75},
            },
        }
    ]
    assert hpa["behavior"] == behavior


def test_the_disruption_budget_follows_the_autoscalers_minimum(render):
    one = render(set={"autoscaling.enabled": True, "autoscaling.minReplicas": 1})
    assert one.of_kind("PodDisruptionBudget") == []
    two = render(set={"autoscaling.enabled": True, "replicaCount": 1})
    assert two.get("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_ipool_with_an_autoscaler_renders_when_the_pool_holds_max_replicas(render):
    manifests = render(
        set={
            "ipool.enabled": True,
            "ipool.size": 5,
            "autoscaling.enabled": True,
            "autoscaling.maxReplicas": 5,
            "workload.kind": "StatefulSet",
        }
    )
    assert manifests.get("HorizontalPodAutoscaler")["spec"]["maxReplicas"] == 5
    annotations = manifests.workload["metadata"]["annotations"]
    assert annotations["dummy-flask-app.quantil.com/ipool-size"] == "5"


def test_ipool_deployment_with_an_autoscaler_defaults_to_a_strategy_that_fits(render):
    """A pool of maxReplicas IPs leaves no spare one: replace pods without surging."""
    workload = render(
        set={"ipool.enabled": True, "autoscaling.enabled": True, "autoscaling.maxReplicas": 5}
    ).workload
    assert workload["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert workload["metadata"]["annotations"]["dummy-flask-app.quantil.com/ipool-size"] == "5"


def test_the_network_policy_admits_the_namespace_and_the_test_pod_to_the_http_port(render):
    policy = render(set={"networkPolicy.enabled": True}).get("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "dummy-flask-app",
        "app.kubernetes.io/instance": "dummy-flask-app",
    }
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == [
        {"podSelector": {}},
        {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/instance": "dummy-flask-app",
                    "app.kubernetes.io/component": "test",
                }
            }
        },
    ]


def test_the_network_policy_admits_the_outside_ranges_listed_for_public_ips(render):
    policy = render(
        values={
            "ipool": {"enabled": True},
            "networkPolicy": {"enabled": True, "externalCIDRs": ["203.0.113.0/24"]},
        }
    ).get("NetworkPolicy")["spec"]
    assert {"ipBlock": {"cidr": "203.0.113.0/24"}} in policy["ingress"][0]["from"]


def test_a_network_policy_with_no_peer_admits_no_one_rather_than_everyone(render):
    """An ingress rule without `from` would admit every source."""
    policy = render(
        values={"networkPolicy": {"enabled": True, "from": []}, "tests": {"enabled": False}}
    ).get("NetworkPolicy")["spec"]
    assert policy["ingress"] == []


def test_the_ingress_routes_each_host_to_the_services_http_port(render):
    ingress = render(
        values={
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "annotations": {"team": "a"},
                "hosts": [
                    {"host": "app.example"},
                    {"host": "api.example", "paths": [{"path": "/v1", "pathType": "Exact"}]},
                ],
                "tls": [{"secretName": "app-tls", "hosts": ["app.example"]}],
            }
        }
    ).get("Ingress")
    backend = {"service": {"name": "dummy-flask-app", "port": {"name": "http"}}}
    assert ingress["metadata"]["annotations"] == {"team": "a"}
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"secretName": "app-tls", "hosts": ["app.example"]}],
        "rules": [
            {
                "host": "app.example",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            },
            {
                "host": "api.example",
                "http": {"paths": [{"path": "/v1", "pathType": "Exact", "backend": backend}]},
            },
        ],
    }


def test_the_http_route_sends_matching_requests_to_the_service_port(render):
    route = render(
        values={
            "service": {"port": 8080},
            "httpRoute": {
                "enabled": True,
                "parentRefs": [{"name": "edge", "namespace": "gateways"}],
                "hostnames": ["app.example"],
            },
        }
    ).get("HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {
        "parentRefs": [{"name": "edge", "namespace": "gateways"}],
        "hostnames": ["app.example"],
        "rules": [
            {
                "backendRefs": [{"name": "dummy-flask-app", "port": 8080}],
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("HorizontalPodAutoscaler", {"autoscaling": {"enabled": True}}),
        ("NetworkPolicy", {"networkPolicy": {"enabled": True}}),
        ("Ingress", {"ingress": {"enabled": True, "hosts": [{"host": "a.example"}]}}),
        ("HTTPRoute", {"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]}}),
    ],
)
def test_opt_in_objects_are_off_by_default_and_on_when_enabled(render, kind, values):
    assert render().of_kind(kind) == []
    assert len(render(values=values).of_kind(kind)) == 1


def test_every_value_in_values_yaml_is_described_by_the_schema():
    """A value the schema does not know would be refused by its own additionalProperties."""
    import json

    import yaml

    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert sorted(values) == sorted(k for k in schema["properties"] if k != "global")
