"""Bad values are refused before anything renders, with a message that names the key."""

from __future__ import annotations

import pytest

from app.settings import VARIABLES
from harness.chart.render import RenderError, render

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
    # Kubernetes' own field rules, where the schema can hold them (issue 20).
    ("env-name-with-a-space", {"extraEnv": [{"name": "A B", "value": "1"}]}, "'/extraEnv/0/name'"),
    (
        "env-from-prefix",
        {"extraEnvFrom": [{"prefix": "1X", "secretRef": {"name": "a"}}]},
        "'/extraEnvFrom/0/prefix'",
    ),
    ("env-from-nameless", {"extraEnvFrom": [{"secretRef": {}}]}, "'/extraEnvFrom/0/secretRef'"),
    ("min-ready-past-the-deadline", {"minReadySeconds": 600}, "'/minReadySeconds'"),
    ("resource-claims", {"resources": {"claims": [{"name": "gpu"}]}}, "'claims'"),
    ("resource-gpu", {"resources": {"limits": {"nvidia.com/gpu": 1}}}, "'nvidia.com/gpu'"),
    (
        "windows-options",
        {"securityContext": {"windowsOptions": {"runAsUserName": "x"}}},
        "'windowsOptions'",
    ),
    ("proc-mount-unmasked", {"securityContext": {"procMount": "Unmasked"}}, "'procMount'"),
    (
        "seccomp-localhost-without-a-profile",
        {"podSecurityContext": {"seccompProfile": {"type": "Localhost"}}},
        "'/podSecurityContext/seccompProfile'",
    ),
    (
        "sysctl-name",
        {"podSecurityContext": {"sysctls": [{"name": "Net IPv4", "value": "1"}]}},
        "'/podSecurityContext/sysctls/0/name'",
    ),
    (
        "probe-port-name",
        {"livenessProbe": {"httpGet": {"port": "HTTP_PORT"}}},
        "'/livenessProbe/httpGet/port'",
    ),
    (
        "probe-header-name",
        {"readinessProbe": {"httpGet": {"httpHeaders": [{"name": "X Y", "value": "1"}]}}},
        "'/readinessProbe/httpGet/httpHeaders/0/name'",
    ),
    ("probe-exec-without-command", {"livenessProbe": {"exec": {}}}, "'/livenessProbe/exec'"),
    ("hook-tcp-socket", {"lifecycle": {"postStart": {"tcpSocket": {"port": 80}}}}, "'tcpSocket'"),
    (
        "mount-sub-path-upward",
        {"extraVolumeMounts": [{"name": "a", "mountPath": "/a", "subPath": "../etc"}]},
        "'/extraVolumeMounts/0/subPath'",
    ),
    (
        "selector-in-without-values",
        {
            "networkPolicy": {
                "from": [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}]
            }
        },
        "'/networkPolicy/from/0/podSelector/matchExpressions/0'",
    ),
    (
        "toleration-key",
        {"tolerations": [{"key": "bad key", "operator": "Exists"}]},
        "'/tolerations/0/key'",
    ),
    (
        "ingress-tls-secret",
        {"ingress": {"tls": [{"secretName": "My_Cert"}]}},
        "'/ingress/tls/0/secretName'",
    ),
]


CIDR_RULE = (
    "Give a range as the API server takes it: an address without leading zeros, a prefix "
    "length, and no bits set after the prefix (203.0.113.0/24, not 203.0.113.7/24; "
    "2001:db8::/32)."
)

# Values the schema accepts but Kubernetes refuses, or accepts and never runs (issue 20): the
# chart refuses each with this message, word for word.
NEVER_RUNS = [
    (
        "statefulset-name-of-58-characters",
        {"workload": {"kind": "StatefulSet"}, "fullnameOverride": "a" * 58},
        "fullnameOverride (or the release name): a StatefulSet's name may have at most 52 "
        f'characters, and "{"a" * 58}" has 58: its pods\' controller-revision-hash label is the '
        "name plus 11 characters, at most 63. Set fullnameOverride to a shorter name.",
    ),
    (
        "probe-with-two-handlers",
        {"livenessProbe": {"exec": {"command": ["/bin/true"]}, "httpGet": {"path": "/x"}}},
        "livenessProbe: give one handler, not exec and httpGet; the chart's own (httpGet "
        "/_health on port http) is used only when you give none.",
    ),
    (
        "startup-probe-with-three-handlers",
        {
            "startupProbe": {
                "exec": {"command": ["/bin/true"]},
                "tcpSocket": {"port": "http"},
                "grpc": {"port": 9000},
            }
        },
        "startupProbe: give one handler, not exec, tcpSocket and grpc; the chart's own (httpGet "
        "/_health on port http) is used only when you give none.",
    ),
    (
        "liveness-success-threshold",
        {"livenessProbe": {"successThreshold": 2}},
        "livenessProbe.successThreshold: must be 1 (Kubernetes allows more only for "
        "readinessProbe), got 2.",
    ),
    (
        "readiness-grace-period",
        {"readinessProbe": {"terminationGracePeriodSeconds": 5}},
        "readinessProbe.terminationGracePeriodSeconds: only livenessProbe and startupProbe take "
        "it; remove it.",
    ),
    (
        "hook-without-a-handler",
        {"lifecycle": {"postStart": {}}},
        "lifecycle.postStart: give one handler (exec, httpGet or sleep), found none.",
    ),
    (
        "hook-with-two-handlers",
        {
            "preStopSleepSeconds": 0,
            "lifecycle": {"preStop": {"exec": {"command": ["drain"]}, "sleep": {"seconds": 2}}},
        },
        "lifecycle.preStop: give one handler (exec, httpGet or sleep), not exec and sleep.",
    ),
    (
        "request-above-the-default-limit",
        {"resources": {"requests": {"cpu": "300m"}}},
        "resources.requests.cpu (300m) is above resources.limits.cpu (200m); Kubernetes allows a "
        "request up to its limit: lower the request or raise the limit.",
    ),
    (
        "request-above-limit-in-other-units",
        {"resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "1000M"}}},
        "resources.requests.memory (1Gi) is above resources.limits.memory (1000M); Kubernetes "
        "allows a request up to its limit: lower the request or raise the limit.",
    ),
    (
        "volume-with-two-sources",
        {"extraVolumes": [{"name": "data", "emptyDir": {}, "configMap": {"name": "settings"}}]},
        "extraVolumes[0] (data): a volume has one source, not configMap and emptyDir; make them "
        "volumes of their own.",
    ),
    (
        "volume-name-twice",
        {"extraVolumes": [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]},
        'extraVolumes[1]: the name "data" is already taken; give each volume a name of its own.',
    ),
    (
        "mount-of-no-volume",
        {"extraVolumeMounts": [{"name": "data", "mountPath": "/data"}]},
        'extraVolumeMounts[0].name: "data" is not one of extraVolumes; add the volume, or mount '
        "one that is.",
    ),
    (
        "mount-path-twice",
        {
            "extraVolumes": [{"name": "data", "emptyDir": {}}],
            "extraVolumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "data", "mountPath": "/data/"},
            ],
        },
        "extraVolumeMounts[1].mountPath: /data is mounted already; give each mount a path of its "
        "own.",
    ),
    (
        "mount-sub-path-and-expression",
        {
            "extraVolumes": [{"name": "data", "emptyDir": {}}],
            "extraVolumeMounts": [
                {"name": "data", "mountPath": "/data", "subPath": "a", "subPathExpr": "$(POD)"}
            ],
        },
        "extraVolumeMounts[0]: give subPath or subPathExpr, not both.",
    ),
    (
        "mount-recursively-read-only-but-writable",
        {
            "extraVolumes": [{"name": "data", "emptyDir": {}}],
            "extraVolumeMounts": [
                {"name": "data", "mountPath": "/data", "recursiveReadOnly": "Enabled"}
            ],
        },
        "extraVolumeMounts[0].recursiveReadOnly: Enabled needs readOnly: true.",
    ),
    (
        "mount-bidirectional-unprivileged",
        {
            "extraVolumes": [{"name": "data", "emptyDir": {}}],
            "extraVolumeMounts": [
                {"name": "data", "mountPath": "/data", "mountPropagation": "Bidirectional"}
            ],
        },
        "extraVolumeMounts[0].mountPropagation: Bidirectional needs a privileged container "
        "(securityContext.privileged: true); use HostToContainer or None.",
    ),
    (
        "env-value-and-value-from",
        {
            "extraEnv": [
                {"name": "POD", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "a"}}}
            ]
        },
        "extraEnv[0] (POD): give value or valueFrom, not both.",
    ),
    (
        "env-value-from-nothing",
        {"extraEnv": [{"name": "POD", "valueFrom": {}}]},
        "extraEnv[0].valueFrom (POD): name one source (configMapKeyRef, fieldRef, fileKeyRef, "
        "resourceFieldRef or secretKeyRef), found none.",
    ),
    (
        "env-file-of-no-volume",
        {
            "extraEnv": [
                {
                    "name": "MODE",
                    "valueFrom": {
                        "fileKeyRef": {"volumeName": "env", "path": "env", "key": "MODE"}
                    },
                }
            ]
        },
        'extraEnv[0].valueFrom.fileKeyRef.volumeName: "env" is not one of extraVolumes (an '
        "emptyDir the file is written to).",
    ),
    (
        "env-from-both",
        {"extraEnvFrom": [{"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}]},
        "extraEnvFrom[0]: name one of configMapRef or secretRef, not configMapRef and secretRef; "
        "list each in an entry of its own.",
    ),
    (
        "privileged-without-escalation",
        {"securityContext": {"privileged": True}},
        "securityContext.privileged: a privileged container always escalates privileges; set "
        "securityContext.allowPrivilegeEscalation=true with it (the chart's default is false), "
        "or drop privileged.",
    ),
    (
        "root-user-of-a-non-root-pod",
        {"securityContext": {"runAsUser": 0}},
        "securityContext.runAsUser (or podSecurityContext.runAsUser): 0 is root, and "
        "runAsNonRoot is true, so the kubelet would never start the container; give another "
        "user, or runAsNonRoot: false.",
    ),
    (
        "sysctl-twice",
        {
            "podSecurityContext": {
                "sysctls": [
                    {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                    {"name": "net.ipv4.tcp_syncookies", "value": "0"},
                ]
            }
        },
        "podSecurityContext.sysctls[1]: net.ipv4.tcp_syncookies is set already; give each sysctl "
        "once.",
    ),
    (
        "toleration-exists-with-a-value",
        {"tolerations": [{"key": "gpu", "operator": "Exists", "value": "yes"}]},
        "tolerations[0].value: must be empty with operator Exists; remove it, or use operator "
        "Equal.",
    ),
    (
        "toleration-equal-without-a-key",
        {"tolerations": [{"value": "yes", "effect": "NoSchedule"}]},
        "tolerations[0].operator: must be Exists when the toleration names no key (it then "
        "tolerates every taint).",
    ),
    (
        "toleration-seconds-without-no-execute",
        {"tolerations": [{"key": "gpu", "operator": "Exists", "tolerationSeconds": 60}]},
        "tolerations[0].tolerationSeconds: only allowed with effect NoExecute (the time a pod "
        "stays on a node after the taint appears).",
    ),
    (
        "the-same-spread-pair-twice",
        {
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
            ]
        },
        'topologySpreadConstraints[1]: topologyKey "zone" with whenUnsatisfiable DoNotSchedule '
        "is given already (item 0); Kubernetes takes each pair once, so merge the two.",
    ),
    (
        "spread-key-in-its-own-selector",
        {
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "matchLabelKeys": ["app.kubernetes.io/instance"],
                }
            ]
        },
        'topologySpreadConstraints[0].matchLabelKeys: "app.kubernetes.io/instance" is already in '
        "the constraint's labelSelector (the chart's selector labels when none is given); remove "
        "it.",
    ),
    (
        "network-peer-ip-block-and-pods",
        {
            "networkPolicy": {
                "enabled": True,
                "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}],
            }
        },
        "networkPolicy.from[0]: an ipBlock cannot share its peer with a podSelector or "
        "namespaceSelector; make them peers of their own.",
    ),
    (
        "network-cidr-out-of-range",
        {"networkPolicy": {"enabled": True, "externalCIDRs": ["999.999.999.999/99"]}},
        'networkPolicy.externalCIDRs[0]: "999.999.999.999/99" has an IPv4 byte above 255. '
        + CIDR_RULE,
    ),
    (
        "network-cidr-with-host-bits",
        {"networkPolicy": {"enabled": True, "externalCIDRs": ["203.0.113.7/24"]}},
        'networkPolicy.externalCIDRs[0]: "203.0.113.7/24" has bits set after its prefix length. '
        + CIDR_RULE,
    ),
    (
        "network-cidr-ipv6-prefix",
        {"networkPolicy": {"enabled": True, "externalCIDRs": ["2001:db8::/129"]}},
        'networkPolicy.externalCIDRs[0]: "2001:db8::/129" has a prefix length above 128. '
        + CIDR_RULE,
    ),
    (
        "network-cidr-leading-zero",
        {"networkPolicy": {"enabled": True, "from": [{"ipBlock": {"cidr": "010.0.0.0/8"}}]}},
        'networkPolicy.from[0].ipBlock.cidr: "010.0.0.0/8" is not an IPv4 or IPv6 address and a '
        "prefix length. " + CIDR_RULE,
    ),
    (
        "network-except-outside-its-cidr",
        {
            "networkPolicy": {
                "enabled": True,
                "from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}],
            }
        },
        "networkPolicy.from[0].ipBlock.except[0]: 11.0.0.0/16 is not a smaller range inside "
        "cidr 10.0.0.0/8.",
    ),
    (
        "budget-of-zero-pods",
        {"podDisruptionBudget": {"maxUnavailable": 0}},
        "podDisruptionBudget.maxUnavailable: 0 would block every drain of a node that runs one "
        "of these pods (kubectl drain waits forever); give 1 or more, or set "
        "podDisruptionBudget.enabled=false.",
    ),
    (
        "budget-of-zero-percent",
        {"podDisruptionBudget": {"maxUnavailable": "0%"}},
        "podDisruptionBudget.maxUnavailable: 0% would block every drain of a node that runs one "
        "of these pods (kubectl drain waits forever); give 1 or more, or set "
        "podDisruptionBudget.enabled=false.",
    ),
    (
        "budget-above-all-pods",
        {"podDisruptionBudget": {"maxUnavailable": "150%"}},
        "podDisruptionBudget.maxUnavailable: 150% is more than all of the pods; give a "
        "percentage up to 100%.",
    ),
    (
        "statefulset-zero-percent-unavailable",
        {
            "workload": {"kind": "StatefulSet"},
            "updateStrategy": {"rollingUpdate": {"maxUnavailable": "0%"}},
        },
        "updateStrategy.rollingUpdate.maxUnavailable: 0% is zero pods; give 1 or more, or a "
        "percentage above 0%.",
    ),
    (
        "deployment-unavailable-above-all-pods",
        {"strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "101%"}}},
        "strategy.rollingUpdate.maxUnavailable: 101% is more than all of the pods; give a "
        "percentage up to 100%.",
    ),
    (
        "route-to-one-gateway-twice",
        {"httpRoute": {"enabled": True, "parentRefs": [{"name": "edge"}, {"name": "edge"}]}},
        "httpRoute.parentRefs[1]: names the same parent as parentRefs[0] (edge); give each a "
        "sectionName of its own (a listener of that Gateway), ports alike, or list the parent "
        "once.",
    ),
    (
        "route-path-with-a-space",
        {
            "httpRoute": {
                "enabled": True,
                "parentRefs": [{"name": "edge"}],
                "matches": [{"path": {"type": "PathPrefix", "value": "/a b"}}],
            }
        },
        'httpRoute.matches[0].path.value: "/a b" is no PathPrefix path the Gateway API takes: '
        '"/", then letters, digits, any of -._~!$&\'()*+,;=:@/ and %XX escapes, without "//", '
        '"/./" or "/../", a trailing "/." or "/..", or an escaped "/" (%2F).',
    ),
    (
        "recreate-with-empty-rolling",
        {"strategy": {"type": "Recreate", "rollingUpdate": {}}},
        "strategy.rollingUpdate: only allowed when strategy.type is RollingUpdate; remove it or "
        "set strategy.type=RollingUpdate.",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"), [case[1:] for case in NEVER_RUNS], ids=[case[0] for case in NEVER_RUNS]
)
def test_values_kubernetes_would_refuse_are_refused_with_this_message(helm, values, message):
    with pytest.raises(RenderError) as refused:
        render(values=values, helm=helm)
    assert "execution error" in refused.value.stderr
    assert refused.value.chart_message == message


def test_a_release_name_too_long_for_a_statefulset_is_refused_naming_it(render_error):
    """The default name is "<release>-dummy-flask-app": a release of 37 characters or more."""
    release = "r" * 37
    stderr = render_error(values={"workload": {"kind": "StatefulSet"}}, release=release)
    assert f'"{release}-dummy-flask-app" has 53: its pods\' controller-revision-hash' in stderr
    render(values={"workload": {"kind": "StatefulSet"}}, release="r" * 36)
    render(values={"workload": {"kind": "Deployment"}}, release=release)


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
