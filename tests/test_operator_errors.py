"""How the operator commands fail: one line, and an exit code that tells CI what kind of
failure it was. The commands here are real processes; the e2e suite checks the same against
the API server (tests/e2e/test_namespace_operator.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from harness.chart.render import RenderError
from harness.core.proc import CommandError
from harness.core.retry import WaitTimeout
from harness.core.tools import ROOT
from harness.ops import cli, deploy
from harness.ops.stall import StallError

# As kubectl and helm print the API server's RBAC refusal.
KUBECTL_FORBIDDEN = (
    'Error from server (Forbidden): secrets is forbidden: User "opseng" cannot list resource'
    ' "secrets" in API group "" in the namespace "payments"'
)
HELM_FORBIDDEN = (
    "Error: server-side apply failed for object /ceo-rbac /v1, Kind=Namespace: namespaces"
    ' "ceo-rbac" is forbidden: User "system:serviceaccount:ceo-rbac:ops" cannot patch resource'
    ' "namespaces" in API group "" in the namespace "ceo-rbac"'
)


@pytest.mark.parametrize("said", [KUBECTL_FORBIDDEN, HELM_FORBIDDEN])
def test_a_refusal_for_want_of_rights_is_named_with_its_verb_and_resource(said):
    refused = cli.forbidden_in(f"some output\n{said}\n")
    assert refused is not None
    assert refused.exit_code == cli.Exit.FORBIDDEN
    assert str(refused).startswith("forbidden: User ")
    assert " cannot " in str(refused) and " resource " in str(refused)
    assert "scripts/operator-rbac.yaml" in str(refused)


def test_an_admission_refusal_is_not_taken_for_a_lack_of_rights():
    said = 'Error: pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot'
    assert cli.forbidden_in(said) is None


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (cli.Refused("--set takes KEY=VALUE"), cli.Exit.REFUSED),
        (RenderError(["helm", "template"], 1, "", "Error: values don't meet"), cli.Exit.REFUSED),
        (StallError("the rollout stalled"), cli.Exit.STALLED),
        (WaitTimeout("timed out after 5 s"), cli.Exit.TIMEOUT),
        (deploy.DeployTimeout("ran out its --timeout"), cli.Exit.TIMEOUT),
        (CommandError(["kubectl", "get"], 1, "", KUBECTL_FORBIDDEN), cli.Exit.FORBIDDEN),
        (CommandError(["kubectl", "get"], 1, "", "connection refused"), cli.Exit.FAILED),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_each_kind_of_failure_has_its_own_exit_code(error, code):
    assert cli.exit_code(error) == code


def command_that_fails_with(stderr: str) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.stderr.write({stderr!r}); sys.exit(1)"]


def test_a_helm_refused_for_want_of_rights_stops_the_rollout_as_forbidden():
    with pytest.raises(cli.Forbidden, match=r'User "opseng" cannot list resource "secrets"'):
        deploy.execute([command_that_fails_with(KUBECTL_FORBIDDEN + "\n")])


def test_a_helm_that_ran_out_its_timeout_is_a_timeout_naming_the_command():
    said = "Error: UPGRADE FAILED: context deadline exceeded\n"
    with pytest.raises(deploy.DeployTimeout, match=r"ran out its --timeout.*deadline exceeded"):
        deploy.execute([command_that_fails_with(said)])


def test_any_other_failure_quotes_the_commands_last_line():
    said = "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"
    with pytest.raises(deploy.DeployError, match="exited 1: Error: UPGRADE FAILED: another op"):
        deploy.execute([command_that_fails_with(said)])


# A command that runs a long child the way deploy runs helm, under run_main; the child
# records that it saw the signal, as helm does when it marks the release failed.
INTERRUPTIBLE = """
import sys
from harness.ops import cli, deploy
child = [sys.executable, "-c", '''
import signal, sys, time
def stop(signum, frame):
    open(sys.argv[1], "w").write(signal.Signals(signum).name)
    sys.exit(1)
signal.signal(signal.SIGTERM, stop)
print("child ready", flush=True)
time.sleep(60)
''', sys.argv[1]]
sys.exit(cli.run_main("scripts/deploy", lambda: deploy.execute([child])))
"""


def test_sigterm_stops_the_running_command_too_and_says_how_to_go_on(tmp_path):
    seen = tmp_path / "child-saw"
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE, str(seen)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == "child ready":
            break
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == cli.Exit.INTERRUPTED
    assert seen.read_text() == "SIGTERM", "the signal reached the running command"
    assert time.monotonic() - began < 30, "the command's own clean-up, not the kill deadline"
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "scripts/deploy: interrupted by SIGTERM; rerun the same command to go on"
    )


def test_an_unexpected_error_is_still_one_line_that_asks_for_a_report(capsys):
    def broken() -> None:
        raise KeyError("replicas")

    assert cli.run_main("scripts/deploy", broken) == cli.Exit.FAILED
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("scripts/deploy: error: unexpected KeyError: 'replicas'")
    assert "please report it" in line


@pytest.mark.parametrize(
    "script",
    ["deploy", "rollout-two-phase", "migrate-to-statefulset", "adopt-unmanaged", "rollout-plan"],
)
def test_help_lists_the_exit_codes_and_the_defaults(script):
    done = subprocess.run(
        [ROOT / "scripts" / script, "--help"], capture_output=True, text=True, check=True
    )
    help_text = " ".join(done.stdout.split())
    assert "exit codes: 0 done; 1 failed; 2 refused" in help_text
    assert "6 forbidden; 7 another run holds the release; 130 interrupted" in help_text
    assert "(default dummy-flask-app)" in help_text
    assert "(default: the kube context's namespace, else `default`" in help_text
