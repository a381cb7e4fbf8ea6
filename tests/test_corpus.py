from __future__ import annotations

import io

import numpy as np

from item2vec.corpus.packed import Corpus, CorpusStats, Packed

SEQS = [["a", "b"], ["c"], ["a", "d", "b"]]


def test_pack_and_unpack_round_trip() -> None:
    packed = Packed.from_lists(SEQS)
    assert packed.codes.tolist() == [0, 1, 2, 0, 3, 1]
    assert packed.bounds.tolist() == [0, 2, 3, 6]
    assert packed.names.tolist() == ["a", "b", "c", "d"]
    assert len(packed) == 3 and packed.tokens == 6
    assert packed.counts().tolist() == [2, 2, 1, 1]
    assert packed.to_lists() == SEQS


def test_lists_are_built_in_blocks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("item2vec.corpus.packed._BLOCK_TOKENS", 2)
    sequences = [[f"i{n}" for n in range(k % 4 + 1)] for k in range(50)]
    assert Packed.from_lists(sequences).to_lists() == sequences


def test_shuffled_lists_permute_within_each_sequence_reproducibly() -> None:
    sequences = [[f"s{s}-{i}" for i in range(8)] for s in range(20)]
    packed = Packed.from_lists(sequences)
    first, again, other = (list(packed.lists(seed=s)) for s in (1, 1, 2))
    assert first == again
    assert first != other
    assert [sorted(s) for s in first] == [sorted(s) for s in sequences]
    assert first != sequences


def test_split_long_cuts_only_long_sequences() -> None:
    packed = Packed.from_lists([["a"] * 25, ["b"], ["c"] * 10])
    assert packed.split_long(10).bounds.tolist() == [0, 10, 20, 25, 26, 36]
    assert packed.split_long(25) is packed


def test_write_codes_is_one_line_per_sequence() -> None:
    handle = io.BytesIO()
    Packed.from_lists(SEQS).write_codes(handle)
    assert handle.getvalue() == b"0 1\n2\n0 3 1\n"


def test_write_codes_across_blocks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("item2vec.corpus.packed._BLOCK_TOKENS", 1)
    sequences = [[str(n) for n in range(k % 5 + 1)] for k in range(30)]
    handle = io.BytesIO()
    packed = Packed.from_lists(sequences)
    packed.write_codes(handle)
    lines = handle.getvalue().decode().splitlines()
    assert [[packed.names[int(c)] for c in line.split()] for line in lines] == sequences


def test_corpus_views_agree() -> None:
    from_lists = Corpus([list(s) for s in SEQS], CorpusStats())
    from_packed = Corpus(Packed.from_lists(SEQS), CorpusStats())
    assert from_lists.sequences == from_packed.sequences == SEQS
    assert isinstance(from_packed.data, Packed) and from_lists.data == SEQS
    assert np.array_equal(from_lists.packed.codes, from_packed.packed.codes)
    assert len(from_lists) == len(from_packed) == 3
