"""What an operator gets from `helm template` with no values at all."""

from __future__ import annotations

import json

import yaml

from harness.chart.render import CHART_DIR

IMAGE_REPOSITORY = "registry-qcc.quantil.com/oe-tools/dummy-flask-app"


def app_version() -> str:
    return yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]


def test_default_workload_is_a_deployment_of_three_replicas(render):
    workload = render().workload
    assert workload["kind"] == "Deployment"
    assert workload["spec"]["replicas"] == 3


def test_default_image_is_the_registry_image_at_the_app_version(render):
    assert render().app_container["image"] == f"{IMAGE_REPOSITORY}:{app_version()}"


def test_app_version_is_the_current_release_1_5_0():
    assert app_version() == "1.5.0"


def test_default_resources_are_the_original_requests_and_limits(render):
    assert render().app_container["resources"] == {
        "requests": {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "64Mi"},
        "limits": {"cpu": "200m", "memory": "128Mi", "ephemeral-storage": "128Mi"},
    }


def test_default_pull_secret_is_myregistrykey(render):
    assert render().pod_template["spec"]["imagePullSecrets"] == [{"name": "myregistrykey"}]


def test_default_deployment_leaves_the_strategy_to_kubernetes(render):
    assert "strategy" not in render().workload["spec"]


def test_default_service_is_cluster_ip_on_port_80_to_the_http_port(render):
    manifests = render()
    service = manifests.get("Service", "dummy-flask-app")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    ports = manifests.app_container["ports"]
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in ports


def test_default_deployment_has_no_headless_service(render):
    assert [s["metadata"]["name"] for s in render().of_kind("Service")] == ["dummy-flask-app"]


def test_probes_ask_the_health_endpoint_on_the_http_port(render):
    container = render().app_container
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_health", "port": "http"}


def test_pods_meet_the_restricted_pod_security_profile(render):
    pod = render().pod_template["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_read_only_root_filesystem_gets_a_writable_tmp(render):
    manifests = render()
    mounts = manifests.app_container["volumeMounts"]
    assert {"name": "tmp", "mountPath": "/tmp"} in mounts
    volumes = {v["name"]: v for v in manifests.pod_template["spec"]["volumes"]}
    assert "emptyDir" in volumes["tmp"]


def test_pods_run_as_their_own_service_account_without_its_token(render):
    manifests = render()
    account = manifests.get("ServiceAccount", "dummy-flask-app")
    assert account["automountServiceAccountToken"] is False
    pod = manifests.pod_template["spec"]
    assert pod["serviceAccountName"] == "dummy-flask-app"
    assert pod["automountServiceAccountToken"] is False


def test_default_pods_spread_over_nodes_without_blocking_scheduling(render):
    manifests = render()
    assert manifests.pod_template["spec"]["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": manifests.workload["spec"]["selector"]["matchLabels"]},
        }
    ]


def test_default_three_pods_get_a_disruption_budget_of_one_pod(render):
    manifests = render()
    budget = manifests.get("PodDisruptionBudget", "dummy-flask-app")["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert budget["selector"] == manifests.workload["spec"]["selector"]


def test_gunicorn_is_sized_from_values_not_from_host_cores(render):
    env = {e["name"]: e["value"] for e in render().app_container["env"]}
    assert env == {
        "WEB_CONCURRENCY": "1",
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_THREADS": "1",
        "GUNICORN_KEEPALIVE": "5",
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
        "GUNICORN_ACCESS_LOG": "true",
    }


def test_the_prestop_sleep_and_gunicorns_graceful_timeout_fit_the_grace_period(render):
    manifests = render()
    env = {e["name"]: e["value"] for e in manifests.app_container["env"]}
    sleep = manifests.app_container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = manifests.pod_template["spec"]["terminationGracePeriodSeconds"]
    assert sleep + int(env["GUNICORN_GRACEFUL_TIMEOUT"]) < grace


def test_a_stopping_pod_keeps_serving_for_a_few_seconds_before_sigterm(render):
    """kube-proxy drops a stopping pod's endpoint up to about a second after the pod is
    told to stop; the preStop sleep covers that (measured in docs/rollout-under-load.md)."""
    assert render().app_container["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}


def test_a_prestop_sleep_of_zero_renders_no_hook(render):
    assert "lifecycle" not in render(set={"preStopSleepSeconds": 0}).app_container


def test_every_object_has_the_standard_labels(render):
    for obj in render():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "dummy-flask-app", obj["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", obj["kind"]
        assert (
            labels["helm.sh/chart"]
            == "dummy-flask-app-"
            + yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["version"]
        )


def test_the_pod_template_does_not_change_with_the_charts_version(render):
    """A chart release that changes nothing about the pods must not restart them (each
    restart moves a public IP on the IP-pool platform): no helm.sh/chart label on pods."""
    version = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["version"]
    template = render().pod_template
    assert "helm.sh/chart" not in template["metadata"]["labels"]
    assert version not in json.dumps(template)


def test_helm_test_hook_requests_health_through_the_service(render):
    pod = render().get("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    assert "http://dummy-flask-app:80/_health" in script


def test_helm_test_pod_is_not_selected_by_the_app_service(render):
    manifests = render()
    selector = manifests.get("Service", "dummy-flask-app")["spec"]["selector"]
    test_labels = manifests.get("Pod")["metadata"]["labels"]
    assert not selector.items() <= test_labels.items()


def test_helm_test_hook_can_be_turned_off(render):
    assert render(set={"tests.enabled": False}).of_kind("Pod") == []
