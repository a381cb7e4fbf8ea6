"""Held-out ranking cases (evaluation/ranking.py): option errors carry fields."""

from __future__ import annotations

import pytest

from item2vec.api.errors import python_terms
from item2vec.errors import ConfigError
from item2vec.evaluation.ranking import Cases


def test_cases_refuse_an_unknown_query_and_a_short_history() -> None:
    with pytest.raises(ConfigError) as query:
        Cases.from_sequences([["a", "b"]], query="first")  # type: ignore[arg-type]
    assert (query.value.param, query.value.value) == ("query", "first")
    assert str(query.value) == "--query 'first' is unknown: use 'last' or 'history'"
    assert python_terms(query.value.raw) == "query='first' is unknown: use 'last' or 'history'"
    with pytest.raises(ConfigError) as history:
        Cases.from_sequences([["a", "b"]], query="history", history=0)
    assert (history.value.param, history.value.value) == ("history_size", 0)
    assert str(history.value) == "--history-size 0 is invalid: use 1 or more items"


def test_one_case_per_sequence_of_two_or_more() -> None:
    assert len(Cases.from_sequences([["a", "b"], ["c"], ["a", "b", "c"]])) == 2
