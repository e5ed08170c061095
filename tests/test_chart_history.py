"""Which committed chart the upgrade test (tests/e2e/test_upgrade_from_git.py) starts from."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.proc import run
from tests.support.chart_history import ChartHistory

CHART = "charts/app"


def git(repo: Path, *args: str) -> str:
    return run(["git", "-C", str(repo), *args]).stdout.strip()


def commit_chart(repo: Path, version: str, note: str) -> str:
    chart = repo / CHART
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: app\nversion: {version}\n")
    (chart / "templates" / "note.txt").write_text(note)
    git(repo, "add", CHART)
    git(repo, "commit", "-q", "-m", f"{version} {note}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "user.name", "test")
    (tmp_path / "other.txt").write_text("unrelated")
    git(tmp_path, "add", "other.txt")
    git(tmp_path, "commit", "-q", "-m", "unrelated")
    return tmp_path


def test_after_a_version_bump_the_last_commit_of_the_old_version_is_chosen(repo: Path):
    commit_chart(repo, "0.1.0", "first")
    last_old = commit_chart(repo, "0.1.0", "second")
    commit_chart(repo, "0.2.0", "bumped")

    past = ChartHistory(repo, CHART).previous()

    assert past is not None
    assert (past.commit, past.version, past.why) == (last_old, "0.1.0", "previous version")


def test_a_version_bump_in_the_working_tree_picks_head(repo: Path):
    head = commit_chart(repo, "0.1.0", "first")
    (repo / CHART / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.2.0\n")

    past = ChartHistory(repo, CHART).previous()

    assert past is not None
    assert (past.commit, past.version) == (head, "0.1.0")


def test_with_one_version_only_an_edited_working_tree_upgrades_from_head(repo: Path):
    commit_chart(repo, "0.1.0", "first")
    head = commit_chart(repo, "0.1.0", "second")
    (repo / CHART / "templates" / "note.txt").write_text("edited")

    past = ChartHistory(repo, CHART).previous()

    assert past is not None
    assert past.commit == head
    assert past.why == "same version 0.1.0, earlier content"


def test_with_one_version_only_a_clean_tree_upgrades_from_the_state_before_head(repo: Path):
    first = commit_chart(repo, "0.1.0", "first")
    commit_chart(repo, "0.1.0", "second")

    past = ChartHistory(repo, CHART).previous()

    assert past is not None
    assert past.commit == first


def test_a_chart_with_a_single_state_has_nothing_to_upgrade_from(repo: Path):
    commit_chart(repo, "0.1.0", "first")

    assert ChartHistory(repo, CHART).previous() is None


def test_export_writes_the_chart_as_it_was_at_that_commit(repo: Path, tmp_path: Path):
    commit_chart(repo, "0.1.0", "first")
    commit_chart(repo, "0.2.0", "bumped")
    history = ChartHistory(repo, CHART)
    past = history.previous()
    assert past is not None

    exported = history.export(past, tmp_path / "out")

    assert (exported / "templates" / "note.txt").read_text() == "first"
    assert "version: 0.1.0" in (exported / "Chart.yaml").read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["charts"]


def test_a_shallow_clone_is_deepened_to_find_the_previous_version(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
):
    first = commit_chart(repo, "0.1.0", "first")
    commit_chart(repo, "0.2.0", "bumped")
    clone = tmp_path_factory.mktemp("shallow") / "clone"
    run(["git", "clone", "--quiet", "--depth", "1", f"file://{repo}", str(clone)])
    history = ChartHistory(clone, CHART)
    assert history.is_shallow()
    assert git(clone, "rev-list", "--count", "HEAD") == "1"

    past = history.previous()

    assert past is not None
    assert (past.commit, past.version) == (first, "0.1.0")
    assert not history.is_shallow()
