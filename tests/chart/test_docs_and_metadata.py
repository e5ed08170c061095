"""The chart's README and Chart.yaml say what the chart does."""

from __future__ import annotations

import re

import pytest
import yaml

from harness.chart import changelog, values_doc
from harness.chart.render import CHART_DIR

CHART = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
)


def test_chart_readme_values_table_matches_values_yaml():
    assert (CHART_DIR / "README.md").read_text() == values_doc.expected_readme(), (
        "the chart README's values table is stale; run `make docs`"
    )


def test_every_value_needs_a_param_line():
    text = "image:\n  ## @param image.tag The tag.\n  tag: ''\n  pullPolicy: Always\n"
    with pytest.raises(values_doc.ValuesDocError, match=r"image\.pullPolicy has no"):
        values_doc.params(text)


def test_a_param_line_must_name_a_real_value():
    text = "## @param replicas Pods.\nreplicaCount: 3\n"
    with pytest.raises(values_doc.ValuesDocError, match="@param replicas names no value"):
        values_doc.params(text)


def test_documenting_a_map_documents_its_children():
    text = "## @section S\n## @param resources Resources.\nresources:\n  limits:\n    cpu: 1\n"
    [param] = values_doc.params(text)
    assert (param.section, param.key, param.default) == ("S", "resources", {"limits": {"cpu": 1}})


def test_chart_version_is_semver_and_api_is_v2():
    assert CHART["apiVersion"] == "v2"
    assert SEMVER.match(CHART["version"]), CHART["version"]


def test_artifact_hub_image_annotation_names_the_app_version():
    images = yaml.safe_load(CHART["annotations"]["artifacthub.io/images"])
    assert images == [
        {
            "name": "dummy-flask-app",
            "image": f"registry-qcc.quantil.com/oe-tools/dummy-flask-app:{CHART['appVersion']}",
        }
    ]


def test_the_values_table_names_each_values_type_from_the_schema():
    schema = {
        "properties": {
            "kind": {"type": "string", "enum": ["Deployment", "StatefulSet"]},
            "size": {"type": ["integer", "null"]},
            "labels": {"$ref": "#/definitions/labels"},
        },
        "definitions": {"labels": {"type": "object"}},
    }
    assert values_doc.value_type(schema, "kind") == "string (Deployment | StatefulSet)"
    assert values_doc.value_type(schema, "size") == "integer or null"
    assert values_doc.value_type(schema, "labels") == "object"
    assert values_doc.value_type(schema, "missing") == ""


def test_a_choice_in_the_table_escapes_its_bars_so_the_row_keeps_four_cells():
    params = values_doc.params("## @section S\n## @param kind K.\nkind: Deployment\n")
    schema = {"properties": {"kind": {"type": "string", "enum": ["Deployment", "StatefulSet"]}}}
    row = values_doc.table(params, schema).splitlines()[-1]
    assert row == "| `kind` | string (Deployment \\| StatefulSet) | K. | `Deployment` |"


def test_the_values_table_shows_scalars_plainly_and_maps_and_lists_as_one_line_yaml():
    text = (
        "## @section S\n## @param a A.\na: opseng\n## @param b B.\nb: ''\n"
        "## @param c C.\nc: 3\n## @param d D.\nd: null\n## @param e E.\ne: {}\n"
        "## @param f F.\nf: [{name: key, port: '80'}]\n"
        "## @param g G.\ng:\n  requests: {cpu: 100m}\n  drop: [ALL]\n"
    )
    rows = values_doc.table(values_doc.params(text), {}).splitlines()
    assert [row.rsplit(" | ", 1)[1] for row in rows[-7:]] == [
        "`opseng` |",
        '`""` |',
        "`3` |",
        "`null` |",
        "`{}` |",
        "`[{name: key, port: '80'}]` |",
        "`{requests: {cpu: 100m}, drop: [ALL]}` |",
    ]


def test_the_changelog_lists_every_version_newest_first_the_charts_own_on_top():
    versions = list(changelog.read(CHART_DIR / "CHANGELOG.md"))
    assert versions[0] == CHART["version"]
    keys = [tuple(int(n) for n in v.split("-")[0].split(".")) for v in versions]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys), versions


def test_the_changes_annotation_is_the_changelogs_entries_for_the_charts_version():
    entries = changelog.read(CHART_DIR / "CHANGELOG.md")[CHART["version"]]
    annotation = yaml.safe_load(CHART["annotations"]["artifacthub.io/changes"])
    assert entries, "the chart's version has no entry in CHANGELOG.md"
    assert annotation == changelog.changes_annotation(entries)


def test_the_license_annotation_names_the_repositorys_license():
    first_line = (CHART_DIR.parents[1] / "LICENSE").read_text().splitlines()[0]
    assert first_line == f"{CHART['annotations']['artifacthub.io/license']} License"


def test_a_changelog_entry_without_a_known_kind_is_refused_naming_its_line(tmp_path):
    bad = tmp_path / "CHANGELOG.md"
    bad.write_text("# x\n\n## 1.0.0\n\n- Improved: things\n")
    with pytest.raises(changelog.ChangelogError, match=r"CHANGELOG\.md:5: an entry starts with"):
        changelog.read(bad)
