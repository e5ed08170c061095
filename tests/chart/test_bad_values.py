"""Bad values are refused before anything renders, with a message that names the key."""

from __future__ import annotations

import pytest

from app.settings import VARIABLES

# (id, values, what the error must say). Schema errors name the key as a JSON pointer
# ('/ipool/size'); the chart's own checks name it dotted ('strategy.rollingUpdate').
BAD_VALUES = [
    ("typo-replicas", {"replicas": 3}, "'replicas'"),
    ("kind-job", {"workload": {"kind": "Job"}}, "'/workload/kind'"),
    ("kind-lowercase", {"workload": {"kind": "statefulset"}}, "'/workload/kind'"),
    ("workload-not-a-map", {"workload": "StatefulSet"}, "'/workload'"),
    ("replicas-negative", {"replicaCount": -1}, "'/replicaCount'"),
    ("replicas-word", {"replicaCount": "three"}, "'/replicaCount'"),
    ("replicas-fraction", {"replicaCount": 1.5}, "'/replicaCount'"),
    ("tag-number", {"image": {"tag": 2}}, "'/image/tag'"),
    ("tag-with-space", {"image": {"tag": "1.5 .0"}}, "'/image/tag'"),
    ("pull-policy", {"image": {"pullPolicy": "Sometimes"}}, "'/image/pullPolicy'"),
    ("repository-uppercase", {"image": {"repository": "Registry/App"}}, "'/image/repository'"),
    ("pull-secret-string", {"imagePullSecrets": ["myregistrykey"]}, "'/imagePullSecrets/0'"),
    ("pull-secret-name", {"imagePullSecrets": [{"name": "My_Key"}]}, "'/imagePullSecrets/0/name'"),
    ("memory-word", {"resources": {"limits": {"memory": "lots"}}}, "'/resources/limits/memory'"),
    ("cpu-negative", {"resources": {"requests": {"cpu": "-100m"}}}, "'/resources/requests/cpu'"),
    (
        "memory-bad-unit",
        {"resources": {"limits": {"memory": "128MB"}}},
        "'/resources/limits/memory'",
    ),
    ("resources-typo", {"resources": {"limit": {"cpu": "1"}}}, "'limit'"),
    ("ipool-enabled-word", {"ipool": {"enabled": "yes"}}, "'/ipool/enabled'"),
    ("ipool-name", {"ipool": {"name": "Pool_A"}}, "'/ipool/name'"),
    ("ipool-size-zero", {"ipool": {"size": 0}}, "'/ipool/size'"),
    ("ipool-key", {"ipool": {"annotationKey": "not a key"}}, "'/ipool/annotationKey'"),
    ("ipool-typo", {"ipool": {"pool": "a"}}, "'pool'"),
    ("strategy-type", {"strategy": {"type": "BlueGreen"}}, "'/strategy/type'"),
    (
        "surge-not-percent",
        {"strategy": {"rollingUpdate": {"maxSurge": "25"}}},
        "'/strategy/rollingUpdate/maxSurge'",
    ),
    (
        "recreate-with-rolling",
        {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
        "strategy.rollingUpdate",
    ),
    ("update-type", {"updateStrategy": {"type": "Recreate"}}, "'/updateStrategy/type'"),
    (
        "ondelete-with-rolling",
        {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
        "updateStrategy.rollingUpdate",
    ),
    ("pod-management", {"podManagementPolicy": "Serial"}, "'/podManagementPolicy'"),
    ("service-port", {"service": {"port": 70000}}, "'/service/port'"),
    ("service-type", {"service": {"type": "ExternalName"}}, "'/service/type'"),
    ("name-override", {"nameOverride": "Flask_App"}, "'/nameOverride'"),
    ("fullname-too-long", {"fullnameOverride": "a" * 64}, "'/fullnameOverride'"),
    (
        "pod-label-value",
        {"podLabels": {"team": "ops eng"}},
        "'/podLabels/team'",
    ),
    (
        "pod-label-selector",
        {"podLabels": {"app.kubernetes.io/name": "other"}},
        "podLabels",
    ),
    (
        "pool-by-annotation",
        {"podAnnotations": {"quantil.com/ipool": "pool-a"}},
        "podAnnotations",
    ),
    ("workers-zero", {"gunicorn": {"workers": 0}}, "'/gunicorn/workers'"),
    ("worker-class-gevent", {"gunicorn": {"workerClass": "gevent"}}, "'/gunicorn/workerClass'"),
    (
        "sync-with-threads",
        {"gunicorn": {"workerClass": "sync", "threads": 4}},
        "gunicorn.threads: must be 1 with gunicorn.workerClass sync",
    ),
    ("keep-alive-negative", {"gunicorn": {"keepAlive": -1}}, "'/gunicorn/keepAlive'"),
    ("keep-alive-word", {"gunicorn": {"keepAlive": "5s"}}, "'/gunicorn/keepAlive'"),
    (
        "graceful-not-below-grace",
        {"gunicorn": {"gracefulTimeout": 30}, "terminationGracePeriodSeconds": 30},
        "gunicorn.gracefulTimeout",
    ),
    (
        "prestop-and-graceful-not-below-grace",
        {"preStopSleepSeconds": 10, "gunicorn": {"gracefulTimeout": 20}},
        "preStopSleepSeconds (10) + gunicorn.gracefulTimeout (20)",
    ),
    ("prestop-negative", {"preStopSleepSeconds": -1}, "'/preStopSleepSeconds'"),
    ("prestop-word", {"preStopSleepSeconds": "5s"}, "'/preStopSleepSeconds'"),
    ("grace-zero", {"terminationGracePeriodSeconds": 0}, "'/terminationGracePeriodSeconds'"),
    (
        "pdb-word",
        {"podDisruptionBudget": {"maxUnavailable": "half"}},
        "'/podDisruptionBudget/maxUnavailable'",
    ),
    ("tests-word", {"tests": {"enabled": "no"}}, "'/tests/enabled'"),
    ("access-log-word", {"gunicorn": {"accessLog": "off"}}, "'/gunicorn/accessLog'"),
    # Labels: the chart's own may not be repeated; values must be label values.
    (
        "pod-label-version",
        {"podLabels": {"app.kubernetes.io/version": "2"}},
        '"app.kubernetes.io/version" is a label the chart sets itself; remove it from podLabels',
    ),
    (
        "common-label-chart",
        {"commonLabels": {"helm.sh/chart": "x"}},
        '"helm.sh/chart" is a label the chart sets itself; remove it from commonLabels',
    ),
    ("common-label-value", {"commonLabels": {"team": "oe tools"}}, "'/commonLabels/team'"),
    ("node-selector-value", {"nodeSelector": {"disk": "ssd fast"}}, "'/nodeSelector/disk'"),
    ("digest-short", {"image": {"digest": "sha256:abc"}}, "'/image/digest'"),
    ("digest-no-algorithm", {"image": {"digest": "ab" * 32}}, "'/image/digest'"),
    # Security contexts are checked by field name, like every other value.
    ("pod-security-typo", {"podSecurityContext": {"runAsNonroot": True}}, "'runAsNonroot'"),
    (
        "security-typo",
        {"securityContext": {"readOnlyRootFileSystem": True}},
        "'readOnlyRootFileSystem'",
    ),
    ("capabilities-typo", {"securityContext": {"capabilities": {"drops": ["ALL"]}}}, "'drops'"),
    (
        "seccomp-type",
        {"podSecurityContext": {"seccompProfile": {"type": "Default"}}},
        "'/podSecurityContext/seccompProfile/type'",
    ),
    (
        "run-as-user-negative",
        {"securityContext": {"runAsUser": -1}},
        "'/securityContext/runAsUser'",
    ),
    # Pods.
    ("priority-class", {"priorityClassName": "High_Priority"}, "'/priorityClassName'"),
    ("min-ready-negative", {"minReadySeconds": -1}, "'/minReadySeconds'"),
    ("startup-probe-typo", {"startupProbe": {"httpget": {"port": 8000}}}, "'httpget'"),
    (
        "probe-period-zero",
        {"livenessProbe": {"periodSeconds": 0}},
        "'/livenessProbe/periodSeconds'",
    ),
    ("lifecycle-typo", {"lifecycle": {"preStart": {"exec": {"command": ["x"]}}}}, "'preStart'"),
    (
        "lifecycle-prestop-with-sleep",
        {"lifecycle": {"preStop": {"exec": {"command": ["drain"]}}}},
        "lifecycle.preStop replaces the chart's preStop sleep of preStopSleepSeconds (5)",
    ),
    (
        "extra-env-chart-name",
        {"extraEnv": [{"name": "WEB_CONCURRENCY", "value": "4"}]},
        "extraEnv: WEB_CONCURRENCY is set by the chart from gunicorn.workers",
    ),
    (
        "extra-env-keep-alive",
        {"extraEnv": [{"name": "GUNICORN_KEEPALIVE", "value": "0"}]},
        "extraEnv: GUNICORN_KEEPALIVE is set by the chart from gunicorn.keepAlive",
    ),
    ("extra-env-no-name", {"extraEnv": [{"value": "x"}]}, "'/extraEnv/0'"),
    ("extra-env-from-typo", {"extraEnvFrom": [{"configMap": {"name": "x"}}]}, "'configMap'"),
    (
        "extra-volume-tmp",
        {"extraVolumes": [{"name": "tmp", "emptyDir": {}}]},
        'extraVolumes: "tmp" is the chart\'s own volume',
    ),
    ("extra-volume-no-source", {"extraVolumes": [{"name": "data"}]}, "'/extraVolumes/0'"),
    (
        "extra-mount-tmp",
        {"extraVolumeMounts": [{"name": "data", "mountPath": "/tmp/"}]},
        "extraVolumeMounts: /tmp is the chart's own mount",
    ),
    (
        "extra-mount-relative",
        {"extraVolumeMounts": [{"name": "data", "mountPath": "data"}]},
        "'/extraVolumeMounts/0/mountPath'",
    ),
    ("service-account-typo", {"serviceAccount": {"automount": True}}, "'automount'"),
    ("service-account-name", {"serviceAccount": {"name": "My_SA"}}, "'/serviceAccount/name'"),
    # Scheduling.
    ("toleration-typo", {"tolerations": [{"key": "a", "efect": "NoSchedule"}]}, "'efect'"),
    ("affinity-typo", {"affinity": {"podAntiaffinity": {}}}, "'podAntiaffinity'"),
    (
        "spread-unsatisfiable",
        {
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Wait"}
            ]
        },
        "'/topologySpreadConstraints/0/whenUnsatisfiable'",
    ),
    (
        "spread-no-key",
        {"topologySpreadConstraints": [{"maxSkew": 1, "whenUnsatisfiable": "ScheduleAnyway"}]},
        "'/topologySpreadConstraints/0'",
    ),
    (
        "spread-min-domains-when-soft",
        {
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "minDomains": 2,
                }
            ]
        },
        "topologySpreadConstraints[0].minDomains: only allowed with whenUnsatisfiable:",
    ),
    (
        "fullname-starts-with-a-digit",
        {"fullnameOverride": "1abc"},
        'fullnameOverride (or the release name): "1abc" starts with a digit',
    ),
    (
        "zero-padded-surge-and-unavailable",
        {"strategy": {"rollingUpdate": {"maxSurge": "00%", "maxUnavailable": 0}}},
        "strategy.rollingUpdate: maxSurge and maxUnavailable cannot both be 0",
    ),
    # Autoscaling, and its IPs.
    ("autoscaling-max-zero", {"autoscaling": {"maxReplicas": 0}}, "'/autoscaling/maxReplicas'"),
    (
        "autoscaling-min-above-max",
        {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}},
        "autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (3)",
    ),
    (
        "autoscaling-no-target",
        {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": None}},
        "autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage",
    ),
    (
        "autoscaling-beyond-the-pool",
        {
            "ipool": {"enabled": True, "size": 4},
            "autoscaling": {"enabled": True, "maxReplicas": 5},
        },
        "the pool holds 4 IPs but autoscaling.maxReplicas is 5, so 1 pod(s) would never get an IP",
    ),
    (
        "autoscaling-surge-beyond-the-pool",
        {
            "ipool": {"enabled": True, "size": 5},
            "autoscaling": {"enabled": True, "maxReplicas": 5},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        },
        "runs up to 6 pods (autoscaling.maxReplicas 5 + maxSurge 1), but the pool holds 5 IPs",
    ),
    (
        "pdb-eviction-policy",
        {"podDisruptionBudget": {"unhealthyPodEvictionPolicy": "Never"}},
        "'/podDisruptionBudget/unhealthyPodEvictionPolicy'",
    ),
    # Traffic from outside.
    (
        "network-policy-public-ips-unchosen",
        {"ipool": {"enabled": True}, "networkPolicy": {"enabled": True}},
        "networkPolicy.externalCIDRs: with ipool.enabled the pods have public IPs",
    ),
    (
        "network-policy-cidr",
        {"networkPolicy": {"externalCIDRs": ["10.0.0.0"]}},
        "'/networkPolicy/externalCIDRs/0'",
    ),
    ("network-policy-empty-peer", {"networkPolicy": {"from": [{}]}}, "'/networkPolicy/from/0'"),
    (
        "ingress-without-hosts",
        {"ingress": {"enabled": True}},
        "ingress.hosts: list at least one host",
    ),
    (
        "ingress-path-type",
        {
            "ingress": {
                "hosts": [{"host": "a.example", "paths": [{"path": "/", "pathType": "Glob"}]}]
            }
        },
        "'/ingress/hosts/0/paths/0/pathType'",
    ),
    ("ingress-host", {"ingress": {"hosts": [{"host": "A Example"}]}}, "'/ingress/hosts/0/host'"),
    (
        "http-route-without-parents",
        {"httpRoute": {"enabled": True}},
        "httpRoute.parentRefs: name at least one Gateway",
    ),
    ("http-route-parent-typo", {"httpRoute": {"parentRefs": [{"nme": "gw"}]}}, "'nme'"),
]


@pytest.mark.parametrize(
    ("values", "names"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES]
)
def test_bad_value_is_refused_naming_the_key(render_error, values, names):
    assert names in render_error(values=values)


@pytest.mark.parametrize("name", VARIABLES)
def test_every_variable_the_app_reads_is_refused_in_extra_env(render_error, name):
    stderr = render_error(values={"extraEnv": [{"name": name, "value": "1"}]})
    assert f"extraEnv: {name} is set by the chart from gunicorn." in stderr


def test_the_corpus_covers_at_least_sixty_distinct_bad_values():
    assert len({case[0] for case in BAD_VALUES}) == len(BAD_VALUES) >= 60


def test_typo_on_the_command_line_is_refused_naming_the_key(render_error):
    assert "'replicas'" in render_error(set={"replicas": 3})


def test_unknown_kind_on_the_command_line_lists_the_allowed_kinds(render_error):
    stderr = render_error(set={"workload.kind": "Job"})
    assert "'/workload/kind'" in stderr
    assert "Deployment" in stderr and "StatefulSet" in stderr


def test_chart_refuses_an_unknown_kind_even_without_schema_validation(helm, tmp_path):
    """Someone may install with --skip-schema-validation; the template still refuses."""
    from harness.chart.render import CHART_DIR
    from harness.core.proc import CommandError, run

    with pytest.raises(CommandError) as refused:
        run(
            [
                helm,
                "template",
                "x",
                CHART_DIR,
                "--skip-schema-validation",
                "--set",
                "workload.kind=Job",
            ]
        )
    assert 'workload.kind: "Job" is not supported' in refused.value.stderr
    assert '"Deployment" and "StatefulSet"' in refused.value.stderr
