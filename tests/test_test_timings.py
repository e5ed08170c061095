"""The suite's own timings (tests/support/timings.py): added up per test and per file, and
the order a run in several processes hands files out in."""

from __future__ import annotations

import json
import re

from tests.support import timings


def test_a_tests_phases_add_up_and_files_rank_by_their_tests_seconds():
    times = timings.Timings(processes=4)
    for nodeid, seconds in [
        ("tests/a.py::test_one", 1.0),  # setup
        ("tests/a.py::test_one", 2.0),  # call
        ("tests/a.py::test_one", 0.5),  # teardown
        ("tests/b.py::test_two", 10.0),
        ("tests/a.py::test_three", 4.0),
    ]:
        times.add(nodeid, seconds)

    record = times.record()
    assert record["files"] == [
        {"file": "tests/b.py", "seconds": 10.0, "tests": 1},
        {"file": "tests/a.py", "seconds": 7.5, "tests": 2},
    ]
    assert record["slowest"][0] == {"test": "tests/b.py::test_two", "seconds": 10.0}
    assert (record["tests"], record["test_s"], record["processes"]) == (3, 17.5, 4)


def test_files_go_out_slowest_first_as_recorded_and_an_unknown_e2e_file_early(
    tmp_path, monkeypatch
):
    committed = tmp_path / "test-times.json"
    committed.write_text(
        json.dumps(
            {"files": [{"file": "quick.py", "seconds": 3}, {"file": "e2e.py", "seconds": 300}]}
        )
    )
    monkeypatch.setattr(timings, "COMMITTED", committed)

    order = timings.slowest_first(
        ["new.py", "quick.py", "new_e2e.py", "e2e.py"], {"new_e2e.py", "e2e.py"}
    )
    assert order == ["e2e.py", "new_e2e.py", "quick.py", "new.py"]


def test_docs_test_times_md_is_what_docs_test_times_json_renders():
    record = json.loads(timings.COMMITTED.read_text())
    assert timings.render_page(record) == timings.COMMITTED.with_suffix(".md").read_text(), (
        "docs/test-times.md is not what docs/test-times.json renders: run `make test-times`"
    )


def test_the_test_times_record_ranks_its_files_and_names_the_slowest_tests():
    record = json.loads(timings.COMMITTED.read_text())
    seconds = [f["seconds"] for f in record["files"]]
    assert seconds == sorted(seconds, reverse=True)
    assert len(record["slowest"]) == timings.SLOWEST
    assert sum(f["tests"] for f in record["files"]) == record["tests"]


def test_the_test_times_record_names_the_chart_version_and_commit_it_measured():
    chart = json.loads(timings.COMMITTED.read_text())["chart"]
    assert re.fullmatch(r"\d+\.\d+\.\d+ at commit [0-9a-f]{7,40}", chart), chart
