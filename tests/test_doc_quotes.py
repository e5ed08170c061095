"""Hand-written pages never disagree with the measurement records they quote
(harness.core.quotes: the anchor syntax and which numbers need one)."""

from __future__ import annotations

import json

import pytest

from harness.core import quotes
from harness.core.tools import ROOT

RECORDS = ROOT / "docs"
GENERATED = quotes.generated_pages(RECORDS)
HAND_WRITTEN = quotes.hand_written_pages(ROOT, GENERATED)
QUOTES = [quote for page in HAND_WRITTEN for quote in quotes.quotes(page)]


def _name(page):
    return str(page.relative_to(ROOT))


def test_the_hand_written_pages_are_every_page_not_rendered_from_a_record():
    assert {"ipool.md", "ipool.json", "benchmark.md", "rollout-under-load.md"} <= GENERATED
    names = [_name(page) for page in HAND_WRITTEN]
    assert {
        "README.md",
        "charts/dummy-flask-app/README.md",
        "docs/development.md",
        "docs/architecture.md",
    } <= set(names)
    assert not [name for name in names if name.startswith("docs/") and "ipool" in name]


def test_the_readme_quotes_at_least_one_record():
    assert [q for q in QUOTES if _name(q.page) == "README.md"]


@pytest.mark.parametrize("quote", QUOTES, ids=lambda q: f"{_name(q.page)}:{q.line}")
def test_every_quoted_number_equals_its_record(quote):
    assert quotes.disagreement(quote, RECORDS) is None


@pytest.mark.parametrize("page", HAND_WRITTEN, ids=_name)
def test_every_number_quoted_next_to_a_generated_page_is_anchored(page):
    assert quotes.unanchored(page, GENERATED) == []


@pytest.mark.parametrize("page", HAND_WRITTEN, ids=_name)
def test_every_anchor_follows_a_number(page):
    assert quotes.stray_anchors(page) == []


# --- the checker, on small pages written here ---


@pytest.fixture
def record(tmp_path):
    data = {"outcomes": [{"key": "a", "seconds": 11.634}, {"key": "b", "seconds": 2.0}]}
    (tmp_path / "r.json").write_text(json.dumps(data))
    return tmp_path


def page_with(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text)
    return page


def quote_in(tmp_path, text):
    return quotes.quotes(page_with(tmp_path, text))


def unanchored_in(tmp_path, text):
    return quotes.unanchored(page_with(tmp_path, text), {"ipool.md", "ipool.json"})


def test_a_stale_quote_is_caught_with_both_numbers(record):
    [stale] = quote_in(record, "took 11.9 s<!-- r.json: outcomes[key=a].seconds -->\n")
    assert quotes.disagreement(stale, record) == (
        "page.md:1: quotes 11.9, but r.json outcomes[key=a].seconds is 11.6"
    )


def test_a_quote_is_compared_at_the_precision_it_shows(record):
    [whole] = quote_in(record, "took 12 s<!-- r.json: outcomes[key=a].seconds -->")
    [exact] = quote_in(record, "took 2.0 s<!-- r.json: outcomes[1].seconds -->")
    assert quotes.disagreement(whole, record) is None
    assert quotes.disagreement(exact, record) is None


def test_a_quote_with_any_unit_or_none_is_read(record):
    text = (
        "54.4 MiB<!-- r.json: a -->, 40%<!-- r.json: b -->, "
        "0.74x<!-- r.json: c -->, 3<!-- r.json: d -->"
    )
    assert [q.number for q in quote_in(record, text)] == ["54.4", "40", "0.74", "3"]


def test_an_item_is_picked_by_several_fields_at_once(tmp_path):
    data = {"rows": [{"kind": "D", "sleep": 0, "s": 10.7}, {"kind": "D", "sleep": 5, "s": 16.3}]}
    (tmp_path / "r.json").write_text(json.dumps(data))
    [quote] = quote_in(tmp_path, "took 16.3 s<!-- r.json: rows[kind=D&sleep=5].s -->")
    assert quotes.disagreement(quote, tmp_path) is None


def test_a_path_that_leads_nowhere_is_reported(record):
    [lost] = quote_in(record, "took 2 s<!-- r.json: outcomes[key=c].seconds -->")
    assert "0 items with key=c" in quotes.disagreement(lost, record)


def test_a_field_that_is_not_a_number_is_reported(record):
    [wrong] = quote_in(record, "took 2 s<!-- r.json: outcomes[0].key -->")
    assert "could not convert" in quotes.disagreement(wrong, record)


def test_an_anchor_after_a_space_is_reported_as_stray(tmp_path):
    page = page_with(
        tmp_path, "took 11.6 s <!-- ipool.json: x -->\nfine 2 s<!-- ipool.json: y -->\n"
    )
    [stray] = quotes.stray_anchors(page)
    assert stray.startswith("page.md:1: an anchor follows no number")


def test_a_bare_number_in_a_table_after_a_paragraph_naming_a_generated_page_is_caught(tmp_path):
    caught = unanchored_in(
        tmp_path,
        "Measured in [the rehearsal](docs/ipool.md):\n\n| way | cost |\n| --- | --- |\n"
        "| plain | 11.6 s without a Ready pod |\n| anchored | 2 s<!-- ipool.json: x --> |\n\n"
        "Elsewhere, `--timeout 10m` and 30 s are settings.\n",
    )
    assert caught == [
        "page.md:5: '11.6 s' has no anchor in: | plain | 11.6 s without a Ready pod |"
    ]


def test_a_page_named_in_plain_text_or_by_its_record_counts_as_quoted(tmp_path):
    caught = unanchored_in(
        tmp_path,
        "A pod answered 1.5 times as many (docs/ipool.md).\n\n"
        "Recorded in `docs/ipool.json`: 418 req/s, 54.4 MiB, 40%.\n",
    )
    assert [line.split(" has no")[0] for line in caught] == [
        "page.md:1: '1.5 times'",
        "page.md:3: '418 req/s'",
        "page.md:3: '54.4 MiB'",
        "page.md:3: '40%'",
    ]


def test_settings_in_code_spans_and_kubernetes_defaults_are_not_quotes(tmp_path):
    assert not unanchored_in(
        tmp_path,
        "See docs/ipool.md: `--stall-timeout 30s`, the default 25% surge, a 200m / 128Mi limit.\n",
    )


def test_only_the_table_row_or_list_item_that_names_a_page_quotes_it(tmp_path):
    caught = unanchored_in(
        tmp_path,
        "| key | text |\n| --- | --- |\n| a | 3 s, see docs/ipool.md |\n| b | 5 s of its own |\n\n"
        "- 7 s, see docs/ipool.md\n- 9 s of its own\n  continued, 10 s\n",
    )
    assert [line.split(":")[1] for line in caught] == ["3", "6"]


def test_a_list_after_a_paragraph_naming_a_page_quotes_it_throughout(tmp_path):
    caught = unanchored_in(tmp_path, "From docs/ipool.md:\n\n- 7 s\n- 9 s\n\nThen 11 s.\n")
    assert [line.split(":")[1] for line in caught] == ["3", "4"]


def test_fenced_code_is_never_a_quote_even_across_blank_lines(tmp_path):
    assert not unanchored_in(
        tmp_path, "Run it (docs/ipool.md):\n\n```console\n$ x\n\ntook 11.6 s\n```\n"
    )


def test_a_generator_or_template_named_like_a_page_is_not_the_page(tmp_path):
    assert not unanchored_in(
        tmp_path, "harness/ipool/ipool.md.j2 and docs/other-ipool.md take 3 s to render.\n"
    )
