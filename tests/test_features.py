"""Item attributes in training, cold items inferred from them, and `embed`."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.errors import ConfigError, InputError
from item2vec.model.store import load
from item2vec.query.neighbours import similar
from item2vec.training.feature_space import attribute_vectors, infer_vectors
from item2vec.training.features import (
    REPEATS,
    FeatureOptions,
    attribute_sentences,
    choose_prefix,
    interleave,
    parse_columns,
    read_features,
)

CLUSTERS = "abcd"
SEEN = 8  # items 0..7 of each cluster occur in sessions; 8 and 9 only in the feature table
FAST = ["--dim", "16", "--window", "3", "--epochs", "15", "--sample", "0", "--min-count", "1",
        "--workers", "1", "--seed", "3"]  # fmt: skip


def cluster_of(item: str) -> str:
    return item[0]


def write_events(path: Path, *, users: int, seed: int, items: range = range(SEEN), prefix: str = "u") -> Path:
    """Users each browse one cluster: 6 events drawn from its items."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id"])
        for user in range(users):
            cluster = rng.choice(CLUSTERS)
            for _ in range(6):
                writer.writerow([f"{prefix}{user}", f"{cluster}{rng.choice(items)}"])
    return path


def write_features(path: Path, items: range = range(10), extra: list[list[str]] | None = None) -> Path:
    """category = the item's cluster; colour is noise."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "category", "colour"])
        for cluster in CLUSTERS:
            for i in items:
                writer.writerow([f"{cluster}{i}", f"cat-{cluster}", f"col{i % 3}"])
        writer.writerows(extra or [])
    return path


@pytest.fixture(scope="module")
def featured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on planted clusters with attributes; items 8 and 9 are cold."""
    root = tmp_path_factory.mktemp("featured")
    events = write_events(root / "events.csv", users=400, seed=1)
    feats = write_features(root / "features.csv")
    model = root / "model"
    result = CliRunner().invoke(
        cli,
        ["train", str(events), "-o", str(model), "--item-features", str(feats),
         "--feature-cols", "category,colour", "-q", *FAST],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return model


def test_parse_columns() -> None:
    assert parse_columns(" category, brand ,category") == ("category", "brand")
    with pytest.raises(ConfigError, match="--feature-cols ' , ' names no column") as caught:
        parse_columns(" , ")
    assert (caught.value.param, caught.value.value) == ("feature_cols", " , ")
    assert str(caught.value).endswith("give e.g. --feature-cols category,brand")


def test_read_features_keeps_ids_as_strings_and_gathers_rows(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("sku,genre,brand\n00123,Toys,\n00123,Games,Acme\n85123A,,Acme\n,Toys,X\n")
    table = read_features(FeatureOptions(str(path), "sku", ("genre", "brand")))
    assert table == {"00123": ("genre=Toys", "genre=Games", "brand=Acme"), "85123A": ("brand=Acme",)}


def test_read_features_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("sku,genre\n1,Toys\n")
    with pytest.raises(InputError, match="no column 'brand'; the columns are: sku, genre"):
        read_features(FeatureOptions(str(path), "sku", ("brand",)))


def test_prefix_never_starts_an_item_id() -> None:
    assert choose_prefix(["a", "b"]) == "~f:"
    assert choose_prefix(["~f:x", "b"]) == "~feat:"
    tricky = ["~f:1", "~feat:2", "~~feature~~:3"]
    prefix = choose_prefix(tricky)
    assert not any(item.startswith(prefix) for item in tricky)


def test_attribute_sentences_follow_the_sequences() -> None:
    table = {"a": ("cat=x", "col=1"), "c": ("cat=y",), "z": ("cat=x",), "e": ()}
    sequences, items = attribute_sentences([["a", "b", "c"], ["b", "a", "e"]], table, "P:")
    sentences = [["a", "P:cat=x", "P:col=1"], ["c", "P:cat=y"]]
    assert sequences == [["a", "b", "c"], ["b", "a", "e"], *(sentences * REPEATS)]
    assert items == {"a", "c"}


def test_interleave_follows_each_item_with_its_tokens() -> None:
    table = {"a": ("cat=x", "col=1"), "c": ("cat=y",)}
    assert interleave([["a", "b", "c"], ["b"]], table, "P:") == [
        ["a", "P:cat=x", "P:col=1", "b", "c", "P:cat=y"],
        ["b"],
    ]


def test_attribute_vectors_and_inference_are_exact() -> None:
    table = {"a": ("t=1",), "b": ("t=1", "u=2"), "c": ("u=2",)}
    vectors = np.array([[2.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    index, unit = attribute_vectors(table, ["a", "b"], vectors)
    assert index == {"t=1": 0, "u=2": 1}
    np.testing.assert_allclose(unit, [[0.5, 0.5], [0.0, 1.0]], atol=1e-6)
    ids, got, used, skipped = infer_vectors(table, {"c": ("u=2",), "d": ("v=3",)}, ["a", "b"], vectors)
    assert (ids, used, skipped) == (["c"], {"c": 1}, ["d"])
    np.testing.assert_allclose(got, [[0.0, 2.0]], atol=1e-6)  # scaled to the learned mean length


def test_feature_tokens_stay_out_of_item_files(featured: Path) -> None:
    emb = load(featured)
    prefix = json.loads((featured / "model.json").read_text())["features"]["prefix"]
    assert not any(i.startswith(prefix) or "=" in i for i in emb.ids)
    assert not any(i.startswith(prefix) for i in emb.dropped)
    assert len(emb.ids) == 40 and emb.vectors.shape == (40, 16)
    tokens = [r.split("\t")[0] for r in (featured / "features.tsv").read_text().splitlines()[1:]]
    assert sorted(tokens) == sorted(
        [f"category=cat-{c}" for c in CLUSTERS] + ["colour=col0", "colour=col1", "colour=col2"]
    )
    assert np.load(featured / "features.npy").shape == (7, 16)
    assert np.load(featured / "syn1neg.npy").shape == (32, 16)  # learned items only


def test_feature_tokens_never_answer_queries(featured: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["similar", str(featured), "a0", "a8", "-k", "39", "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    answered = {json.loads(line)["item"] for line in result.output.splitlines()}
    assert answered <= set(load(featured).ids)
    out = tmp_path / "vectors.txt"
    result = runner.invoke(cli, ["export", str(featured), "-f", "word2vec", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "40 16" and not any("=" in line.split(" ")[0] for line in lines[1:])


def test_cold_items_are_inferred_and_land_among_their_attribute_mates(featured: Path) -> None:
    emb = load(featured)
    inferred = [r.split("\t")[0] for r in (featured / "inferred.tsv").read_text().splitlines()[1:]]
    assert sorted(inferred) == sorted(f"{c}{i}" for c in CLUSTERS for i in (8, 9))
    assert emb.ids[-8:] == inferred[-8:] or set(emb.ids[-8:]) == set(inferred)
    for item in inferred:
        learned = [n.item for n in similar(emb, [item], k=15) if n.item not in inferred]
        assert all(cluster_of(t) == cluster_of(item) for t in learned[:5]), (item, learned)


def test_learned_items_stay_cluster_pure_with_features(featured: Path) -> None:
    emb = load(featured)
    for item in (f"{c}{i}" for c in CLUSTERS for i in range(SEEN)):
        top = [n.item for n in similar(emb, [item], k=3)]
        assert all(cluster_of(t) == cluster_of(item) for t in top), (item, top)


def test_info_counts_learned_and_inferred(featured: Path) -> None:
    result = CliRunner().invoke(cli, ["info", str(featured), "-f", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert (record["items"], record["learned_items"], record["inferred_items"]) == (40, 32, 8)
    assert record["features"]["columns"] == ["category", "colour"]


def test_train_summary_mentions_inferred_items(tmp_path: Path) -> None:
    events = write_events(tmp_path / "e.csv", users=60, seed=2)
    feats = write_features(tmp_path / "f.csv")
    result = CliRunner().invoke(
        cli,
        ["train", str(events), "-o", str(tmp_path / "m"), "--item-features", str(feats),
         "--feature-cols", "category", *FAST],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "; 8 inferred from features" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--item-features", "F"], "--item-features needs --feature-cols COL,COL"),
        (["--feature-cols", "category"], "--feature-cols and --feature-id-col need --item-features FILE"),
    ],
)
def test_train_feature_option_errors(tmp_path: Path, args: list[str], message: str) -> None:
    events = write_events(tmp_path / "e.csv", users=10, seed=2)
    args = [str(tmp_path / "f.csv") if a == "F" else a for a in args]
    result = CliRunner().invoke(cli, ["train", str(events), "-o", str(tmp_path / "m"), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_train_feature_table_errors(tmp_path: Path) -> None:
    events = write_events(tmp_path / "e.csv", users=10, seed=2)
    feats = write_features(tmp_path / "f.csv")
    base = ["train", str(events), "-o", str(tmp_path / "m"), "--item-features"]
    result = CliRunner().invoke(cli, [*base, str(feats), "--feature-cols", "brand"])
    assert result.exit_code == 1
    assert "Error: " in result.output and "no column 'brand'" in result.output
    result = CliRunner().invoke(cli, [*base, str(tmp_path / "nope.csv"), "--feature-cols", "category"])
    assert result.exit_code == 1
    assert f"Error: input file '{tmp_path / 'nope.csv'}' does not exist" in result.output


# embed ---------------------------------------------------------------------------------------


def new_items(path: Path) -> Path:
    path.write_text("item_id,category,colour\nnew-b,cat-b,col1\nodd,cat-zz,\na0,cat-a,col0\n")
    return path


def test_embed_writes_a_new_model_that_answers_for_new_items(featured: Path, tmp_path: Path) -> None:
    out = tmp_path / "m2"
    result = CliRunner().invoke(
        cli, ["embed", str(featured), str(new_items(tmp_path / "n.csv")), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "item   status                         features_used\n"
        "-----  -----------------------------  -------------\n"
        "new-b  embedded                                   2\n"
        "odd    skipped: no known attribute                0\n"
        "a0     skipped: already in the model              0\n"
    )
    assert result.stderr == f"Embedded 1 of 3 items; model saved to {out}\n"
    emb = load(out)
    assert len(emb) == 41 and emb.ids[-1] == "new-b"
    assert all(cluster_of(n.item) == "b" for n in similar(emb, ["new-b"], k=5))
    meta = json.loads((out / "model.json").read_text())
    assert meta["features"]["inferred_items"] == 9
    assert meta["updates"][-1]["command"] == "embed" and meta["updates"][-1]["new_items"] == 1
    assert len(load(featured)) == 40  # the original model is untouched


def test_embed_in_place_needs_force(featured: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(featured, copy)
    items = new_items(tmp_path / "n.csv")
    result = CliRunner().invoke(cli, ["embed", str(copy), str(items)])
    assert result.exit_code == 1
    assert f"Error: embed would replace model '{copy}': use --force, or -o NEW_MODEL" in result.output
    result = CliRunner().invoke(cli, ["embed", str(copy), str(items), "--force", "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert load(copy).ids[-1] == "new-b"


def test_embed_errors(featured: Path, tiny_model: Path, tmp_path: Path) -> None:
    items = new_items(tmp_path / "n.csv")
    result = CliRunner().invoke(cli, ["embed", str(tiny_model), str(items), "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "was trained without --item-features, so it has no attribute vectors" in result.output
    unknown = tmp_path / "u.csv"
    unknown.write_text("item_id,category,colour\nq1,cat-q,\n")
    result = CliRunner().invoke(cli, ["embed", str(featured), str(unknown), "-o", str(tmp_path / "y")])
    assert result.exit_code == 1
    assert "Error: no item of" in result.output and "none has an attribute the model knows" in result.output
    result = CliRunner().invoke(
        cli, ["embed", str(featured), str(items), "-o", str(featured.parent / "model")]
    )
    assert result.exit_code == 1
    assert "use --force" in result.output
    result = CliRunner().invoke(
        cli, ["embed", str(featured), str(items), "--id-col", "sku", "-o", str(tmp_path / "z")]
    )
    assert result.exit_code == 1
    assert "no column 'sku'" in result.output


def test_store_writes_tables_and_old_models_have_no_feature_space(tiny_model: Path, tmp_path: Path) -> None:
    from item2vec.model.store import read_meta, read_tsv, save
    from item2vec.training.feature_space import load_space

    emb = load(tiny_model)
    save(emb, tmp_path / "m", tables={"extra": (("id", "n"), [("a", 1), ("b\tc", 2)])})
    assert read_tsv(tmp_path / "m" / "extra.tsv") == [["a", "1"], ["b\tc", "2"]]
    assert load_space(tiny_model, read_meta(tiny_model)) is None
    assert "learned_items" not in json.loads(
        CliRunner().invoke(cli, ["info", str(tiny_model), "-f", "json"]).output
    )
