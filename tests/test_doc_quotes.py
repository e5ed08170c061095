"""Hand-written pages never disagree with the measurement records they quote
(harness.core.quotes)."""

from __future__ import annotations

import json

import pytest

from harness.core import quotes
from harness.core.tools import ROOT

RECORDS = ROOT / "docs"
HAND_WRITTEN = [
    ROOT / "README.md",
    ROOT / "charts" / "dummy-flask-app" / "README.md",
    ROOT / "docs" / "development.md",
    ROOT / "docs" / "architecture.md",
]
QUOTES = [quote for page in HAND_WRITTEN for quote in quotes.quotes(page)]


def test_the_readme_quotes_at_least_one_record():
    assert [q for q in QUOTES if q.page.name == "README.md"]


@pytest.mark.parametrize("quote", QUOTES, ids=lambda q: f"{q.page.name}:{q.line}")
def test_every_quoted_number_equals_its_record(quote):
    assert quotes.disagreement(quote, RECORDS) is None


@pytest.mark.parametrize("page", HAND_WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_number_quoted_next_to_a_generated_page_is_anchored(page):
    assert quotes.unanchored(page, quotes.generated_pages(RECORDS)) == []


@pytest.fixture
def record(tmp_path):
    data = {"outcomes": [{"key": "a", "seconds": 11.634}, {"key": "b", "seconds": 2.0}]}
    (tmp_path / "r.json").write_text(json.dumps(data))
    return tmp_path


def quote_in(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text)
    return quotes.quotes(page)


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


def test_a_path_that_leads_nowhere_is_reported(record):
    [lost] = quote_in(record, "took 2 s<!-- r.json: outcomes[key=c].seconds -->")
    assert "0 items with key=c" in quotes.disagreement(lost, record)


def test_a_bare_number_next_to_a_generated_page_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Measured in [the rehearsal](docs/ipool.md):\n\n| way | cost |\n| --- | --- |\n"
        "| plain | 11.6 s without a Ready pod |\n| anchored | 2 s<!-- ipool.json: x --> |\n\n"
        "Elsewhere, `--timeout 10m` and 30 s are settings.\n"
    )
    [caught] = quotes.unanchored(page, {"ipool.md"})
    assert "'11.6 s'" in caught
