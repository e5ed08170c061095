"""Bad values are refused before anything renders, with a message that names the key."""

from __future__ import annotations

import pytest

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
]


@pytest.mark.parametrize(
    ("values", "names"), [case[1:] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES]
)
def test_bad_value_is_refused_naming_the_key(render_error, values, names):
    assert names in render_error(values=values)


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
