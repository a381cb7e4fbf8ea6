"""Transition counts: hand-counted pairs, truncation and ties, the safe file, update's merge."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import ModelError
from item2vec.model.pair_counts import CountBudget
from item2vec.model.transitions import build_transitions, combine, load_transitions, save_transitions
from item2vec.training.build_transitions import build_for_model, extended


def rows_of(matrix: object) -> list[dict[int, float]]:
    dense = matrix.dense_rows(np.arange(matrix.n_items))
    return [{int(c): float(v) for c, v in enumerate(row) if v} for row in dense]


def near(value: object) -> object:
    """Rows (lists or dicts of dicts of weights) with each weight rounded to 5 decimals."""
    if isinstance(value, dict):
        return {k: near(v) for k, v in value.items()}
    if isinstance(value, list):
        return [near(v) for v in value]
    return round(float(value), 5)  # type: ignore[arg-type]


def packed(*sequences: list[int]) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array([c for s in sequences for c in s], dtype=np.int32)
    bounds = np.concatenate([[0], np.cumsum([len(s) for s in sequences])]).astype(np.int64)
    return codes, bounds


def test_hand_counted_pairs_weigh_one_over_the_distance() -> None:
    # [0 1 2 1]: 0->1, 1->2, 2->1 at distance 1; 0->2 at 2 (1->1 is the item itself: skipped).
    # [2 0]: 2->0. [3]: nothing.
    codes, bounds = packed([0, 1, 2, 1], [2, 0], [3])
    matrix = build_transitions(codes, bounds, 4, steps=2)
    assert rows_of(matrix) == [{1: 1.0, 2: 0.5}, {2: 1.0}, {0: 1.0, 1: 1.0}, {}]
    assert matrix.row(0)[0].tolist() == [1, 2]  # heaviest first
    assert matrix.row(2)[0].tolist() == [0, 1]  # a tie: the lower column first
    assert (matrix.steps, matrix.keep, matrix.nnz) == (2, None, 5)
    nearest = build_transitions(codes, bounds, 4, steps=1)
    assert rows_of(nearest) == [{1: 1.0}, {2: 1.0}, {0: 1.0, 1: 1.0}, {}]


def test_keep_truncates_each_row_deterministically() -> None:
    codes, bounds = packed([0, 1, 2, 1], [2, 0], [0, 2, 2, 0, 1])
    matrix = build_transitions(codes, bounds, 3, steps=3, keep=1)
    full = build_transitions(codes, bounds, 3, steps=3)
    for item in range(3):
        columns, weights = full.row(item)
        best = [int(c) for c, w in zip(columns, weights) if w == weights[0]][:1]
        assert matrix.row(item)[0].tolist() == best
    assert np.diff(matrix.indptr).max() == 1


def test_out_of_vocabulary_tokens_keep_their_place() -> None:
    codes, bounds = packed([0, -1, 2], [1, 1, 0])
    matrix = build_transitions(codes, bounds, 3, steps=2)
    assert rows_of(matrix) == [{2: 0.5}, {0: 1.5}, {}]  # 1->0 at distances 1 and 2; 1->1 skipped


def test_duplicates_are_summed_across_sequences() -> None:
    codes, bounds = packed([0, 1], [0, 1], [0, 2, 1])
    assert rows_of(build_transitions(codes, bounds, 3, steps=2)) == [{1: 2.5, 2: 1.0}, {}, {1: 1.0}]


def test_malformed_corpora_are_caller_bugs() -> None:
    codes, bounds = packed([0, 1])
    with pytest.raises(ValueError, match="steps must be >= 1"):
        build_transitions(codes, bounds, 2, steps=0)
    with pytest.raises(ValueError, match="codes must lie in"):
        build_transitions(codes, bounds, 1)


def loop_reference(
    codes: np.ndarray,
    bounds: np.ndarray,
    n: int,
    steps: int,
    keep: int | None,
    both: bool = False,
    per_length: bool = False,
) -> tuple[list[int], list[int], list[float]]:
    """The matrix by a plain Python loop: per entry its count at each distance (with
    ``per_length``, each sequence's pairs count round(2**20 / sqrt(length)) units of 2**-20; with
    ``both``, a pair counts for its later item too), the weight its count over each distance
    summed (up to 10 steps as whole units of 1 / lcm(1..steps), divided once; past that in
    float64, distances ascending), rows heaviest first (ties: lower column)."""
    scale = 1 << 20 if per_length else 1
    counts: dict[tuple[int, int], dict[int, int]] = {}
    for s in range(len(bounds) - 1):
        seq = codes[bounds[s] : bounds[s + 1]].tolist()
        unit = round(scale / len(seq) ** 0.5) if per_length and seq else 1
        for i, a in enumerate(seq):
            for d in range(1, steps + 1):
                if i + d < len(seq) and a >= 0 and seq[i + d] >= 0 and a != seq[i + d]:
                    for pair in [(a, seq[i + d])] + ([(seq[i + d], a)] if both else []):
                        by_distance = counts.setdefault(pair, {})
                        by_distance[d] = by_distance.get(d, 0) + unit
    rows: dict[int, list[tuple[float, int]]] = {}
    lcm = math.lcm(*range(1, steps + 1))
    for (a, b), by_distance in counts.items():
        if steps <= 10:  # whole units of 1 / lcm(1..steps), summed exactly, divided once
            weight = float(sum(c * (lcm // d) for d, c in by_distance.items())) / float(lcm * scale)
        else:  # each count over its distance, distances ascending, in float64
            weight = 0.0
            for d in sorted(by_distance):
                weight += by_distance[d] / (d * scale)
        rows.setdefault(a, []).append((float(np.float32(weight)), b))
    indptr, indices, data = [0], [], []
    for a in range(n):
        kept = sorted(rows.get(a, []), key=lambda wb: (-wb[0], wb[1]))[:keep]
        indices += [b for _, b in kept]
        data += [w for w, _ in kept]
        indptr.append(len(indices))
    return indptr, indices, data


def zipf_corpus(seed: int, tokens: int, items: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = (rng.zipf(1.3, size=tokens) - 1) % items
    codes[rng.random(tokens) < 0.05] = -1  # out of vocabulary: no pair, but a place
    cuts = np.sort(rng.choice(np.arange(1, tokens), size=tokens // 7, replace=False))
    bounds = np.unique(np.concatenate([[0], cuts, cuts[:3], [tokens]]))  # some empty sequences too
    bounds = np.sort(np.concatenate([bounds, bounds[:2]]))
    return codes.astype(np.int32), bounds.astype(np.int64)


@pytest.mark.parametrize(
    ("seed", "steps", "keep"), [(0, 10, 100), (1, 10, 3), (2, 1, None), (3, 3, 2), (4, 14, 5), (5, 7, None)]
)
def test_the_matrix_is_exactly_a_plain_loop_s(seed: int, steps: int, keep: int | None) -> None:
    codes, bounds = zipf_corpus(seed, 3000, 60)
    matrix = build_transitions(codes, bounds, 60, steps=steps, keep=keep)
    indptr, indices, data = loop_reference(codes, bounds, 60, steps, keep)
    assert matrix.indptr.tolist() == indptr and matrix.indices.tolist() == indices
    assert matrix.data.tobytes() == np.array(data, dtype=np.float32).tobytes()  # bit for bit


@pytest.mark.parametrize(
    ("seed", "steps", "keep", "both", "per_length"),
    [
        (0, 10, 100, True, False),
        (1, 10, 3, False, True),
        (2, 1, None, True, True),
        (3, 3, 2, True, True),
        (4, 12, 4, True, True),
    ],
)
@pytest.mark.parametrize("one_word", [True, False])
def test_both_ways_and_per_length_are_exactly_a_plain_loop_s(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    steps: int,
    keep: int | None,
    both: bool,
    per_length: bool,
    one_word: bool,
) -> None:
    from item2vec.model import pair_counts

    if not one_word:  # keys too long to carry a weight (a catalogue of millions): an argsort
        monkeypatch.setattr(pair_counts, "_WEIGHT_BITS", 62)
    codes, bounds = zipf_corpus(seed, 3000, 60)
    expected = loop_reference(codes, bounds, 60, steps, keep, both, per_length)
    tiny = CountBudget(chunk_tokens=37, table_records=150, spill_dir=str(tmp_path))
    for budget in (None, tiny):  # chunked and spilled: the same sums, bit for bit
        matrix = build_transitions(codes, bounds, 60, steps=steps, keep=keep, both=both,
                                   per_length=per_length, budget=budget)  # fmt: skip
        assert (matrix.both, matrix.per_length) == (both, per_length)
        assert matrix.indptr.tolist() == expected[0] and matrix.indices.tolist() == expected[1]
        assert matrix.data.tobytes() == np.array(expected[2], dtype=np.float32).tobytes()


def test_hand_counted_both_ways_and_per_sequence_weights() -> None:
    # [0 1 2 1] (4 items: each pair 1/2), [2 0] (2 items: 1/sqrt(2)); steps 1, both ways
    codes, bounds = packed([0, 1, 2, 1], [2, 0])
    matrix = build_transitions(codes, bounds, 3, steps=1, both=True, per_length=True)
    half, root = 0.5, 2**-0.5
    got = rows_of(matrix)
    assert near(got[0]) == near({1: half, 2: root})
    assert near(got[1]) == near({0: half, 2: 2 * half})  # 1-2 and 2-1 both count
    assert near(got[2]) == near({0: root, 1: 2 * half})
    ahead = build_transitions(codes, bounds, 3, steps=1, per_length=True)
    assert near(rows_of(ahead)[2]) == near({0: root, 1: half})


@pytest.mark.parametrize(("chunk", "records"), [(1, 1), (7, 50), (64, 400), (1000, 10**9)])
@pytest.mark.slow
def test_tiny_budgets_spill_and_give_the_same_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, records: int
) -> None:
    import item2vec.model.pair_counts as pair_counts

    spilled: list[int] = []
    spill = pair_counts._Table.spill

    def counted(table: pair_counts._Table) -> None:
        spilled.append(table.held)
        spill(table)

    monkeypatch.setattr(pair_counts._Table, "spill", counted)
    codes, bounds = zipf_corpus(5, 4000, 80)
    whole = build_transitions(codes, bounds, 80, steps=10, keep=4)
    budget = CountBudget(chunk_tokens=chunk, table_records=records, spill_dir=str(tmp_path))
    spilled.clear()
    small = build_transitions(codes, bounds, 80, steps=10, keep=4, budget=budget)
    assert (spilled != []) == (records < 10**9)  # the tiny budgets went through the disk
    assert list(tmp_path.iterdir()) == []  # and left nothing there
    assert small.indptr.tobytes() == whole.indptr.tobytes()
    assert small.indices.tobytes() == whole.indices.tobytes()
    assert small.data.tobytes() == whole.data.tobytes()
    indptr, indices, data = loop_reference(codes, bounds, 80, 10, 4)
    assert small.indptr.tolist() == indptr and small.indices.tolist() == indices
    assert small.data.tobytes() == np.array(data, dtype=np.float32).tobytes()


def test_the_file_round_trips_without_pickle(tmp_path: Path) -> None:
    codes, bounds = packed([0, 1, 2, 1], [2, 0])
    matrix = build_transitions(codes, bounds, 4, steps=2, keep=5)
    path = save_transitions(tmp_path / "t", matrix)
    assert path.name == "t.npz"
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)
    again = load_transitions(path, 4)
    assert rows_of(again) == rows_of(matrix) and (again.steps, again.keep) == (2, 5)
    assert again.indices.dtype == np.int32 and again.data.dtype == np.float32
    assert (again.both, again.per_length) == (False, False)
    counted = build_transitions(codes, bounds, 4, steps=2, keep=5, both=True, per_length=True)
    again = load_transitions(save_transitions(tmp_path / "b.npz", counted), 4)
    assert (again.both, again.per_length) == (True, True) and rows_of(again) == rows_of(counted)


def test_a_file_from_before_the_counting_flags_loads_as_counted_then(tmp_path: Path) -> None:
    codes, bounds = packed([0, 1, 2, 1], [2, 0])
    path = save_transitions(
        tmp_path / "t.npz", build_transitions(codes, bounds, 3, both=True, per_length=True)
    )
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files if key not in ("both", "per_length")}
    np.savez(path, **arrays)
    again = load_transitions(path, 3)
    assert (again.both, again.per_length) == (False, False)  # as every file before them was counted
    np.savez(path, **arrays, both=np.array(2))
    with pytest.raises(ModelError, match=r"is corrupt \(both is not 0 or 1\)"):
        load_transitions(path, 3)


def test_a_tampered_object_array_is_refused(tmp_path: Path) -> None:
    codes, bounds = packed([0, 1])
    path = save_transitions(tmp_path / "t.npz", build_transitions(codes, bounds, 2))
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["data"] = np.array([{"payload": 1}], dtype=object)
    np.savez(path, **arrays)  # numpy pickles the object array
    with pytest.raises(ModelError, match=r"transitions file .* is corrupt \(Object arrays cannot be loaded"):
        load_transitions(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indptr": np.array([0, 1, 3])}, "inconsistent arrays"),
        ({"indptr": np.array([0, 5, 1])}, "an index is out of range"),
        ({"indices": np.array([7], dtype=np.int32)}, "an index is out of range"),
        ({"version": np.array(9)}, "transition format 9 is not supported"),
        ({"data": np.array(["x"])}, "data is <U1, not plain numbers"),
    ],
)
def test_corrupt_files_are_refused(tmp_path: Path, change: dict[str, np.ndarray], message: str) -> None:
    codes, bounds = packed([0, 1])
    path = save_transitions(tmp_path / "t.npz", build_transitions(codes, bounds, 2))
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    np.savez(path, **{**arrays, **change})
    with pytest.raises(ModelError, match=message):
        load_transitions(path)


def test_a_file_of_another_size_or_not_a_matrix_is_refused(tmp_path: Path) -> None:
    codes, bounds = packed([0, 1])
    path = save_transitions(tmp_path / "t.npz", build_transitions(codes, bounds, 2))
    with pytest.raises(ModelError, match=r"\(it covers 2 items but the model has 3\): retrain the model"):
        load_transitions(path, 3)
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ModelError, match="it is not a transition matrix: no indptr"):
        load_transitions(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="is corrupt"):
        load_transitions(tmp_path / "junk.npz")


def test_combine_remap_and_resize() -> None:
    a = build_transitions(*packed([0, 1], [0, 2]), 3)
    b = build_transitions(*packed([0, 2], [1, 0]), 3)
    assert rows_of(combine(a, b, keep=None)) == [{1: 1.0, 2: 2.0}, {0: 1.0}, {}]
    assert combine(a, b, keep=1).row(0)[0].tolist() == [2]
    swapped = a.remapped(np.array([2, 1, -1]), 3)  # item 0 becomes 2; item 2 is dropped
    assert rows_of(swapped) == [{}, {}, {1: 1.0}]
    grown = a.resized(5)
    assert grown.n_items == 5 and rows_of(grown)[:3] == rows_of(a) and rows_of(grown)[3:] == [{}, {}]


def test_build_for_model_maps_ids_to_rows_and_skips_items() -> None:
    sequences = [["b", "a", "x", "c"], ["a", "b"]]
    matrix, record = build_for_model(sequences, ["a", "b", "c"], skip=["c"], steps=2, keep=10)
    # x is not in the vocabulary and c is skipped (inferred): both keep their place, form no pair;
    # a pair of a sequence of L items weighs 1/sqrt(L)
    assert near(rows_of(matrix)) == near([{1: 2**-0.5}, {0: 0.5}, {}])
    assert record["steps"] == 2 and record["keep"] == 10 and record["entries"] == 2
    assert record["direction"] == "next" and record["per_sequence"] == "1/sqrt(length)"
    both, record = build_for_model(sequences, ["a", "b", "c"], steps=1, direction="both", keep=10)
    assert near(rows_of(both)) == near([{1: 0.5 + 2**-0.5}, {0: 0.5 + 2**-0.5}, {}])
    assert record["direction"] == "both"
    assert record["items_with_followers"] == 2 and record["sequences"] == 2


def test_update_adds_new_counts_to_the_stored_ones() -> None:
    r = 2**-0.5  # a pair of a sequence of two
    old, _ = build_for_model([["a", "b"], ["a", "c"]], ["a", "b", "c"], steps=1, keep=10)
    merged, record = extended(old, ["a", "b", "c"], [["a", "b"], ["d", "a"]], ["b", "a", "c", "d"],
                              previous={"steps": 1, "keep": 10, "sequences": 2})  # fmt: skip
    # rows are the new numbering: b, a, c, d
    assert near(rows_of(merged)) == near([{}, {0: 2 * r, 2: r}, {}, {1: r}])
    assert record["sequences"] == 4 and record["keep"] == 10 and "since" not in record
    fresh, record = extended(None, [], [["a", "b"]], ["a", "b"])
    assert near(rows_of(fresh)) == near([{1: r}, {}]) and record["since"] == "update"
    # the new data counted as the stored transitions were: both ways here, or as before the weights
    both, _ = build_for_model([["a", "b"]], ["a", "b"], steps=1, direction="both", keep=10)
    merged, record = extended(both, ["a", "b"], [["b", "a"]], ["a", "b"], previous={"steps": 1, "keep": 10})
    assert near(rows_of(merged)) == near([{1: 2 * r}, {0: 2 * r}]) and record["direction"] == "both"
    plain = build_transitions(*packed([0, 1]), 2, steps=1, keep=10)  # a model's from before the weights
    merged, record = extended(plain, ["a", "b"], [["a", "b"]], ["a", "b"], previous={"steps": 1, "keep": 10})
    assert rows_of(merged) == [{1: 2.0}, {}] and record["per_sequence"] == "1"


# --- in the model directory: train, update, embed --------------------------------------------------

TRAIN_FAST = ["--dim", "8", "--epochs", "2", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def cli_run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def model_rows(model: Path) -> dict[str, dict[str, float]]:
    from item2vec.model.store import load

    ids = load(model).ids
    matrix = load_transitions(model / "transitions.npz", len(ids))
    return {ids[r]: {ids[c]: w for c, w in row.items()} for r, row in enumerate(rows_of(matrix)) if row}


@pytest.mark.slow
def test_train_writes_the_transitions_and_records_them(tmp_path: Path) -> None:
    import json

    seqs = tmp_path / "seqs.txt"
    seqs.write_text("a b c\nb a\nc a b d\n")
    result = cli_run("train", seqs, "-o", tmp_path / "m", *TRAIN_FAST[:-1])
    assert result.exit_code == 0, result.output
    assert "Transitions: 9 (up to 100 followers within 10 steps, for 3 items" in result.stderr
    # hand-counted: a b c | b a | c a b d, each pair 1/distance times 1/sqrt(the sequence's
    # length); d is followed by nothing
    three, two, four = 3**-0.5, 2**-0.5, 0.5
    assert near(model_rows(tmp_path / "m")) == near({
        "a": {"b": three + four, "c": three / 2, "d": four / 2},
        "b": {"c": three, "a": two, "d": four},
        "c": {"a": four, "b": four / 2, "d": four / 3},
    })  # fmt: skip
    record = json.loads((tmp_path / "m" / "model.json").read_text())["transitions"]
    assert (record["file"], record["steps"], record["keep"], record["entries"]) == (
        "transitions.npz",
        10,
        100,
        9,
    )


def test_baskets_count_their_transitions_both_ways(tmp_path: Path) -> None:
    import json

    from item2vec.model.scoring_record import Scoring

    seqs = tmp_path / "baskets.txt"
    seqs.write_text("a b c\nb a\nc a b d\n" * 4)
    result = cli_run("train", seqs, "-o", tmp_path / "m", *TRAIN_FAST[:-1], "--context", "set")
    assert result.exit_code == 0, result.output
    assert "(up to 100 neighbours within 10 steps either way, for 4 items" in result.stderr
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["transitions"]["direction"] == "both"
    assert Scoring.from_record(meta).label() == "hybrid(next,4,both ways)"
    from item2vec.query.score_modes import score_mode

    assert score_mode("hybrid").describe(Scoring.from_record(meta)) == "hybrid (next, weight 4, both ways)"
    rows = model_rows(tmp_path / "m")
    assert all(near(rows[a][b]) == near(rows[b][a]) for a in rows for b in rows[a])  # symmetric


def test_train_records_a_default_scoring_that_recommend_uses(tmp_path: Path) -> None:
    import json

    seqs = tmp_path / "seqs.txt"
    seqs.write_text("a b c\nb a\nc a b d\n" * 5)
    model = tmp_path / "m"
    result = cli_run("train", seqs, "-o", model, *TRAIN_FAST, "--score", "next", "--hybrid-weight", "3")
    assert result.exit_code == 0, result.output
    meta = json.loads((model / "model.json").read_text())
    scoring = {k: v for k, v in meta["scoring"].items() if k != "calibration"}
    assert scoring == {"score": "next", "hybrid_weight": 3.0}  # the mode given is kept
    assert "fewer than the 100 calibration needs" in meta["scoring"]["calibration"]["skipped"]
    default = cli_run("recommend", model, "--history", "a", "-f", "csv")
    chosen = cli_run("recommend", model, "--history", "a", "-f", "csv", "--score", "next")
    assert default.stdout == chosen.stdout
    spark = cli_run("train", seqs, "-o", tmp_path / "s", "--engine", "spark", "--score", "similar")
    assert spark.exit_code == 2
    assert "--score, --hybrid-weight, --hybrid-base and --calibrate need --engine gensim" in spark.output


def test_update_extends_the_transitions_or_builds_them(tmp_path: Path) -> None:
    import json

    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("a b\nb c\n")
    new.write_text("a b\nc e\n")
    assert cli_run("train", old, "-o", tmp_path / "m", *TRAIN_FAST).exit_code == 0
    result = cli_run("update", tmp_path / "m", new, "-o", tmp_path / "m2", "--epochs", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "Transitions: 3, the new counts added to the stored ones" in result.stderr
    r = 2**-0.5  # each pair of a sequence of two
    rows = model_rows(tmp_path / "m2")
    assert near(rows) == near({"a": {"b": 2 * r}, "b": {"c": r}, "c": {"e": r}})
    meta = json.loads((tmp_path / "m2" / "model.json").read_text())
    assert meta["transitions"]["sequences"] == 4 and meta["updates"][-1]["transitions"] == "extended"
    # A model from before transitions: update builds them from its new data, and says so.
    (tmp_path / "m" / "transitions.npz").unlink()
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    del meta["transitions"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    result = cli_run("update", tmp_path / "m", new, "-o", tmp_path / "m3", "--epochs", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "built from this update's data only (the model had none)" in result.stderr
    assert near(model_rows(tmp_path / "m3")) == near({"a": {"b": r}, "c": {"e": r}})
    assert json.loads((tmp_path / "m3" / "model.json").read_text())["transitions"]["since"] == "update"


def test_embedded_items_have_no_transitions(tmp_path: Path) -> None:
    from tests.test_features import FAST, write_events, write_features

    events = write_events(tmp_path / "e.csv", users=60, seed=1)
    feats = write_features(tmp_path / "f.csv")
    model = tmp_path / "m"
    result = cli_run(
        "train", events, "-o", model, "--item-features", feats, "--feature-cols", "category", "-q", *FAST
    )
    assert result.exit_code == 0, result.output
    before = model_rows(model)
    inferred = [line.split("\t")[0] for line in (model / "inferred.tsv").read_text().splitlines()[1:]]
    assert inferred and not set(inferred) & set(before)  # items inferred from attributes: no rows
    new = tmp_path / "n.csv"
    new.write_text("item_id,category\nnew-a,cat-a\n")
    assert cli_run("embed", model, new, "-o", tmp_path / "m2").exit_code == 0
    assert model_rows(tmp_path / "m2") == before
    assert load_transitions(tmp_path / "m2" / "transitions.npz").n_items == 41


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1.0])
def test_nan_infinite_or_negative_weights_are_refused(tmp_path: Path, bad: float) -> None:
    codes, bounds = packed([0, 1, 2], [2, 0])
    path = save_transitions(tmp_path / "t.npz", build_transitions(codes, bounds, 3, steps=2))
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["data"] = arrays["data"].copy()
    arrays["data"][1] = bad
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match=r"transitions file .*t\.npz' is corrupt \(a weight is "):
        load_transitions(path, 3)


def test_a_small_file_declaring_a_huge_array_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    codes, bounds = packed([0, 1, 2], [2, 0])
    path = save_transitions(tmp_path / "t.npz", build_transitions(codes, bounds, 3, steps=2))
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    # 4 GB of float32 declared (the header is all that is read: 1 MB of it is written, deflated)
    huge = tmp_path / "huge.npz"
    with zipfile.ZipFile(huge, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for key, array in arrays.items():
            if key != "data":
                with out.open(key + ".npy", "w") as member:
                    np.lib.format.write_array(member, array)
        with out.open("data.npy", "w", force_zip64=True) as member:
            header = {"descr": "<f4", "fortran_order": False, "shape": (2**30,)}
            np.lib.format.write_array_header_1_0(member, header)
            member.write(bytes(2**20))
    assert huge.stat().st_size < 2**20

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the arrays were read")

    monkeypatch.setattr(np, "load", never)
    with pytest.raises(
        ModelError, match=r"huge\.npz' is corrupt \(data declares 1,073,741,824 values"
    ) as caught:
        load_transitions(huge, 3)
    assert str(huge) in str(caught.value)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_rows_are_ordered_heaviest_first_ties_by_column(sign: float) -> None:
    from item2vec.model.pair_counts import top_per_row

    rng = np.random.default_rng(7)
    keys = np.unique(rng.integers(0, 40 * 40, size=900))
    rows, cols = keys // 40, keys % 40
    data = (sign * rng.integers(1, 6, size=keys.shape[0]) / 2).astype(np.float32)  # many ties
    order = np.lexsort((cols, -data, rows))
    for keep in (None, 3):
        got = top_per_row(rows, cols, data, keep)
        kept = [
            i for i in order if keep is None or sum(rows[order][: list(order).index(i)] == rows[i]) < keep
        ]
        assert got[0].tolist() == rows[kept].tolist() and got[1].tolist() == cols[kept].tolist()
        assert got[2].tobytes() == data[kept].tobytes()


def test_several_depths_from_one_pass_are_each_depths_own_matrix(tmp_path: Path) -> None:
    from item2vec.model.transitions import build_transitions_at

    codes, bounds = zipf_corpus(9, 3000, 50)
    for budget in (None, CountBudget(chunk_tokens=50, table_records=300, spill_dir=str(tmp_path))):
        both = build_transitions_at(codes, bounds, 50, depths=(10, 1, 3), keep=5, budget=budget)
        assert list(both) == [10, 1, 3]
        for steps, matrix in both.items():
            alone = build_transitions(codes, bounds, 50, steps=steps, keep=5)
            assert matrix.steps == steps and matrix.keep == 5
            assert matrix.indptr.tobytes() == alone.indptr.tobytes()
            assert matrix.indices.tobytes() == alone.indices.tobytes()
            assert matrix.data.tobytes() == alone.data.tobytes()


def test_only_some_rows_are_each_as_in_the_whole_matrix(tmp_path: Path) -> None:
    from item2vec.model.transitions import build_transitions_at

    codes, bounds = zipf_corpus(11, 3000, 50)
    wanted = np.zeros(50, dtype=bool)
    wanted[[0, 3, 17, 49]] = True
    for budget in (None, CountBudget(chunk_tokens=40, table_records=200, spill_dir=str(tmp_path))):
        some = build_transitions_at(codes, bounds, 50, depths=(10, 1), keep=5, budget=budget, rows=wanted)
        for steps, matrix in some.items():
            whole = build_transitions(codes, bounds, 50, steps=steps, keep=5)
            for item in range(50):
                got, expected = matrix.row(item), whole.row(item)
                if wanted[item]:
                    assert (
                        got[0].tolist() == expected[0].tolist() and got[1].tobytes() == expected[1].tobytes()
                    )
                else:
                    assert got[0].tolist() == []


def test_both_directions_from_one_pass_are_each_their_own_matrix(tmp_path: Path) -> None:
    from item2vec.model.transitions import build_transition_kinds

    codes, bounds = zipf_corpus(13, 3000, 50)
    wanted = np.zeros(50, dtype=bool)
    wanted[[1, 4, 20, 33]] = True
    kinds = ((10, False), (1, False), (10, True), (1, True))
    tiny = CountBudget(chunk_tokens=45, table_records=250, spill_dir=str(tmp_path))
    for budget, rows, per_length in ((None, None, True), (tiny, None, False), (tiny, wanted, True)):
        found = build_transition_kinds(codes, bounds, 50, kinds=kinds, keep=5, budget=budget, rows=rows,
                                       per_length=per_length)  # fmt: skip
        assert list(found) == list(kinds)
        for (steps, both), matrix in found.items():
            alone = build_transitions(
                codes, bounds, 50, steps=steps, keep=5, both=both, per_length=per_length
            )
            assert (matrix.steps, matrix.both, matrix.per_length) == (steps, both, per_length)
            for item in range(50):
                got, expected = matrix.row(item), alone.row(item)
                if rows is None or rows[item]:
                    assert got[0].tolist() == expected[0].tolist(), (steps, both, item)
                    assert got[1].tobytes() == expected[1].tobytes(), (steps, both, item)
                else:
                    assert got[0].tolist() == []
    assert list(tmp_path.iterdir()) == []
