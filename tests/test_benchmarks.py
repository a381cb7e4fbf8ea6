"""Word benchmarks (evaluation/benchmarks.py): their errors name the file's parameter and carry fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from item2vec.api.errors import python_terms
from item2vec.errors import EmptyResultError, InputError
from item2vec.evaluation.benchmarks import evaluate_analogies, evaluate_pairs
from tests.conftest import tiny_embeddings


def test_a_missing_benchmark_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(InputError) as caught:
        evaluate_analogies(tiny_embeddings(), path)
    assert (caught.value.param, caught.value.value) == ("analogies", str(path))
    assert str(caught.value) == f"--analogies file {str(path)!r} does not exist"
    assert python_terms(caught.value.raw) == f"analogies= file {str(path)!r} does not exist"


def test_an_analogy_line_of_three_words(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text(": royals\nking queen prince\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        evaluate_analogies(tiny_embeddings(), path)
    assert (caught.value.param, caught.value.expected) == ("analogies", "4 words a line (a b c d)")
    assert str(caught.value) == (
        f"--analogies {str(path)!r} line 2: expected 4 words (a b c d), got 'king queen prince'"
    )


def test_too_few_known_pairs(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("king queen 9\nkiwi mango 3\n", encoding="utf-8")
    with pytest.raises(EmptyResultError) as caught:
        evaluate_pairs(tiny_embeddings(), path)
    assert (caught.value.param, caught.value.value) == ("pairs", str(path))
    assert str(caught.value) == (
        f"--pairs {str(path)!r}: only 1 pairs have both words in the model (1 skipped): "
        "a correlation needs at least 3"
    )
    path.write_text("word1 word2 score\nking queen 9\nking queen high\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: expected 'word1 word2 score'") as bad:
        evaluate_pairs(tiny_embeddings(), path)
    assert bad.value.param == "pairs"
