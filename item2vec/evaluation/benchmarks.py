"""Word benchmarks for text models: analogies (questions-words) and word-pair similarity.

Both read the common formats of the word2vec/fastText tools and gensim's test data: analogy
files of ``: section`` lines and ``a b c d`` questions (b - a + c should be d), pair files of
``word1 word2 score`` lines (WordSim-353, SimLex-999). Ids match exactly, else
case-insensitively; questions and pairs with a word the model lacks are skipped and counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from item2vec.corpus.text import lines as text_lines
from item2vec.errors import EmptyResultError, InputError, param
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.query.topk import block_rows, blocks, product, top_k

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_CELLS = 1 << 24


def _lookup(embeddings: Embeddings) -> Callable[[str], int | None]:
    """Exact id, else case-insensitive (the most frequent spelling wins)."""
    folded: dict[str, int] = {}
    for row, item in enumerate(embeddings.ids):
        folded.setdefault(item.casefold(), row)

    def find(word: str) -> int | None:
        row = embeddings.index.get(word)
        return row if row is not None else folded.get(word.casefold())

    return find


def _read_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """Numbered lines of a UTF-8 file (a BOM dropped; other encodings refused naming the line)."""

    def reopen() -> BinaryIO:
        return open(path, "rb")

    try:
        with reopen() as handle:
            found = [(n, line.strip()) for n, line in text_lines(handle, str(path), reopen)]
    except FileNotFoundError:
        raise InputError(
            f"{param(what)} file {str(path)!r} does not exist", param=what, value=str(path), expected="a file"
        ) from None
    except OSError as exc:
        raise InputError(
            f"{param(what)} file {str(path)!r} cannot be read: {exc}", param=what, value=str(path)
        ) from None
    return [(n, line) for n, line in found if line and not line.startswith("#")]


def evaluate_analogies(embeddings: Embeddings, path: Path) -> list[dict[str, Any]]:
    """Accuracy of 3CosAdd (b - a + c = d, inputs excluded) per section of a questions-words file.

    Questions with a word the model lacks are skipped and counted; ids match exactly, else
    case-insensitively.

    Raises:
        InputError: the file is missing, or a line is neither ``: section`` nor four words.
    """
    sections, questions = _read_questions(embeddings, path)
    correct, asked = _answer(embeddings, questions)
    out = [_analogy_row(name, correct[name], asked[name], sections[name][1]) for name in sections]
    out.append(
        _analogy_row(
            "total", sum(correct.values()), sum(asked.values()), sum(s[1] for s in sections.values())
        )
    )
    return out


def _read_questions(
    embeddings: Embeddings, path: Path
) -> tuple[dict[str, list[int]], list[tuple[str, list[int]]]]:
    """The sections (each with its count of skipped questions) and the questions as rows, in order."""
    find = _lookup(embeddings)
    sections: dict[str, list[int]] = {}
    questions: list[tuple[str, list[int]]] = []
    section = "(none)"
    for number, line in _read_lines(path, "analogies"):
        if line.startswith(":"):
            section = line[1:].strip() or section
            sections.setdefault(section, [0, 0])
            continue
        words = line.split()
        if len(words) != 4:
            raise InputError(
                f"{param('analogies', str(path))} line {number}: expected 4 words (a b c d), got {line!r}",
                param="analogies",
                value=str(path),
                expected="4 words a line (a b c d)",
            )
        sections.setdefault(section, [0, 0])
        rows = [find(w) for w in words]
        if any(r is None for r in rows):
            sections[section][1] += 1
        else:
            questions.append((section, [int(r) for r in rows if r is not None]))
    if not questions and not sections:
        raise InputError(
            f"{param('analogies', str(path))} has no questions: use the questions-words format",
            param="analogies",
            value=str(path),
            expected="the questions-words format",
        )
    return sections, questions


def _answer(
    embeddings: Embeddings, questions: list[tuple[str, list[int]]]
) -> tuple[Counter[str], Counter[str]]:
    """Correct and asked questions per section, answered by 3CosAdd in batches of bounded size."""
    import numpy as np

    correct = Counter[str]()
    asked = Counter[str]()
    if questions:
        q = np.array([rows for _, rows in questions], dtype=np.int64)
        unit = embeddings.unit
        step = max(2, block_rows(len(embeddings), _CELLS * 4))
        buffer = np.empty((min(len(q), step + 1), len(embeddings)), dtype=np.float32)  # reused
        for start, stop in blocks(len(q), step):
            part = q[start:stop]
            scores = product(unit_rows(unit[part[:, 1]] - unit[part[:, 0]] + unit[part[:, 2]]), unit, buffer)
            scores[np.arange(len(part))[:, None], part[:, :3]] = -np.inf
            guess = top_k(scores, 1)[0][:, 0]  # the best, ties to the lower row (as argmax)
            for offset, hit in enumerate(guess == part[:, 3]):
                name = questions[start + offset][0]
                asked[name] += 1
                correct[name] += int(hit)
    return correct, asked


def _analogy_row(section: str, correct: int, asked: int, skipped: int) -> dict[str, Any]:
    accuracy = round(correct / asked, 4) if asked else None
    return {
        "section": section,
        "correct": correct,
        "questions": asked,
        "accuracy": accuracy,
        "skipped": skipped,
    }


def evaluate_pairs(embeddings: Embeddings, path: Path) -> list[dict[str, Any]]:
    """Spearman and Pearson correlation of cosine similarity with human scores.

    Lines are ``word1 word2 score`` (tab, comma or space separated; ``#`` comments). Pairs
    with a word the model lacks are skipped and counted.

    Raises:
        InputError: the file is missing or a line has no numeric score.
        EmptyResultError: fewer than 3 pairs are known to the model.
    """
    import numpy as np

    find = _lookup(embeddings)
    known: list[tuple[int, int, float]] = []
    skipped = 0
    for number, line in _read_lines(path, "pairs"):
        parts = re.split(r"\t|,|\s+", line) if "\t" not in line else line.split("\t")
        parts = [p.strip() for p in parts if p.strip()]
        try:
            score = float(parts[2])
        except (IndexError, ValueError):
            if number == 1 or (not known and not skipped):
                continue  # a header line
            raise InputError(
                f"{param('pairs', str(path))} line {number}: expected 'word1 word2 score', got {line!r}",
                param="pairs",
                value=str(path),
                expected="'word1 word2 score' a line",
            ) from None
        a, b = find(parts[0]), find(parts[1])
        if a is None or b is None:
            skipped += 1
        else:
            known.append((a, b, score))
    if len(known) < 3:
        raise EmptyResultError(
            f"{param('pairs', str(path))}: only {len(known)} pairs have both words in the model "
            f"({skipped} skipped): a correlation needs at least 3",
            param="pairs",
            value=str(path),
            expected="at least 3 pairs of known words",
        )
    left = np.array([k[0] for k in known])
    right = np.array([k[1] for k in known])
    unit = embeddings.unit
    cosine = (unit[left] * unit[right]).sum(axis=1).astype(np.float64)
    human = np.array([k[2] for k in known])
    spearman = _pearson(_ranks(cosine), _ranks(human))
    pearson = _pearson(cosine, human)
    return [
        {
            "file": path.name,
            "pairs": len(known),
            "skipped": skipped,
            "spearman": round(spearman, 4),
            "pearson": round(pearson, 4),
        }
    ]


def _ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks from 0, ties sharing their average rank (as Spearman's rho needs)."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    _, groups = np.unique(values, return_inverse=True)
    result: NDArray[np.float64] = (np.bincount(groups, weights=ranks) / np.bincount(groups))[groups]
    return result


def _pearson(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Pearson's r; NaN when either side is constant."""
    import numpy as np

    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 0 else float("nan")
