"""`update`: continue training on new logs from the saved .npy state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.model.store import load
from item2vec.query.neighbours import similar
from tests.test_features import CLUSTERS, FAST, cluster_of, write_events, write_features


def train(events: Path, out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(cli, ["train", str(events), "-o", str(out), "-q", *FAST, *extra])
    assert result.exit_code == 0, result.output
    return out


def update(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["update", *args])
    return result.exit_code, result.stdout, result.stderr if result.exit_code == 0 else result.output


def top(model: Path, items: list[str], k: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in similar(load(model), items, k=k):
        out.setdefault(n.query, []).append(n.item)
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("update")
    return train(write_events(root / "old.csv", users=400, seed=1), root / "model")


def test_update_keeps_neighbours_stable_and_adds_new_items(base: Path, tmp_path: Path) -> None:
    # More data from the same clusters, now also with items 8 and 9 of each cluster.
    new = write_events(tmp_path / "new.csv", users=300, seed=7, items=range(10), prefix="n")
    code, _, err = update(str(base), str(new), "-o", str(tmp_path / "m2"), "--epochs", "5")
    assert code == 0, err
    assert "Items: 32 before, 40 after (8 new, 0 still below --min-count)" in err
    # Each old item's 7 nearest old items (its cluster mates, planted) are the same as before.
    old_items = [f"{c}{i}" for c in CLUSTERS for i in range(8)]
    before = top(base, old_items, 7)
    after = {
        i: [t for t in found if t in before][:7] for i, found in top(tmp_path / "m2", old_items, 9).items()
    }
    overlap = np.mean([len(set(before[i]) & set(after[i])) / 7 for i in old_items])
    assert overlap >= 0.9
    for item in old_items:
        assert all(cluster_of(t) == cluster_of(item) for t in after[item]), (item, after[item])
    # The space is continued, not relearned: old vectors moved little.
    old_emb, new_emb = load(base), load(tmp_path / "m2")
    a = old_emb.unit[[old_emb.index[i] for i in old_items]]
    b = new_emb.unit[[new_emb.index[i] for i in old_items]]
    assert float(np.einsum("ij,ij->i", a, b).mean()) > 0.8
    for item in (f"{c}{i}" for c in CLUSTERS for i in (8, 9)):
        assert all(cluster_of(t) == cluster_of(item) for t in top(tmp_path / "m2", [item], 3)[item])
    assert np.load(tmp_path / "m2" / "syn1neg.npy").shape == (40, 16)


def test_update_records_history_and_reuses_params(base: Path, tmp_path: Path) -> None:
    new = write_events(tmp_path / "new.csv", users=30, seed=8, prefix="n")
    code, _, err = update(str(base), str(new), "-o", str(tmp_path / "m2"), "--epochs", "2")
    assert code == 0, err
    code, _, err = update(str(tmp_path / "m2"), str(new), "-o", str(tmp_path / "m3"))
    assert code == 0, err
    meta = json.loads((tmp_path / "m3" / "model.json").read_text())
    assert [u["epochs"] for u in meta["updates"]] == [2, 15]  # the second reuses the trained 15
    first = meta["updates"][0]
    assert first["command"] == "update" and first["inputs"] == [str(new)]
    assert first["events"] == 180 and first["items_before"] == 32 and first["new_items"] == 0
    assert meta["params"]["dim"] == 16 and meta["input"]["session"]["user_col"] == "user_id"


def test_new_items_below_min_count_count_old_and_new_occurrences(tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    old.write_text(
        "user_id,item_id\n" + "".join(f"u{u},a{u % 3}\nu{u},b{u % 3}\n" for u in range(30)) + "x,rare\nx,a0\n"
    )
    model = train(old, tmp_path / "m", "--min-count", "2")
    assert load(model).dropped == {"rare": 1}
    new = tmp_path / "new.csv"
    new.write_text("user_id,item_id\nn,rare\nn,a1\nm,once\nm,b2\n")
    code, _, err = update(str(model), str(new), "-o", str(tmp_path / "m2"), "--min-count", "2")
    assert code == 0, err
    emb = load(tmp_path / "m2")
    assert "rare" in emb.ids and int(emb.counts[emb.index["rare"]]) == 2
    assert emb.dropped == {"once": 1}


def test_update_in_place_needs_force(base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(base, copy)
    new = write_events(tmp_path / "new.csv", users=20, seed=9, prefix="n")
    code, _, out = update(str(copy), str(new))
    assert code == 1
    assert f"Error: update would replace model '{copy}': use --force, or -o NEW_MODEL" in out
    code, _, err = update(str(copy), str(new), "--force", "--epochs", "1")
    assert code == 0, err
    assert len(json.loads((copy / "model.json").read_text())["updates"]) == 1
    code, _, out = update(str(copy), str(new), "-o", str(base))
    assert code == 1 and "already exists: use --force" in out


def test_update_refuses_models_without_training_state(base: Path, tmp_path: Path) -> None:
    new = write_events(tmp_path / "new.csv", users=5, seed=9)
    spark = tmp_path / "spark"
    shutil.copytree(base, spark)
    meta = json.loads((spark / "model.json").read_text())
    (spark / "model.json").write_text(json.dumps({**meta, "engine": "spark"}))
    (spark / "syn1neg.npy").unlink()
    code, _, out = update(str(spark), str(new), "-o", str(tmp_path / "x"))
    assert code == 1
    assert f"Error: model '{spark}' was trained with engine 'spark', which keeps no training state" in out
    bare = tmp_path / "bare"
    shutil.copytree(base, bare)
    (bare / "syn1neg.npy").unlink()
    code, _, out = update(str(bare), str(new), "-o", str(tmp_path / "x"))
    assert code == 1
    assert f"Error: model '{bare}' has no syn1neg.npy (its training state), so it cannot be updated" in out


def test_update_input_errors(base: Path, tmp_path: Path) -> None:
    code, _, out = update(str(base), str(tmp_path / "nope.csv"), "-o", str(tmp_path / "x"))
    assert code == 1
    assert f"Error: input file '{tmp_path / 'nope.csv'}' does not exist" in out
    code, _, out = update(str(tmp_path / "none"), str(tmp_path / "nope.csv"), "-o", str(tmp_path / "x"))
    assert code == 1 and "does not exist: train one with 'item2vec train'" in out
    code, _, out = update(str(base))
    assert code == 2 and "Missing argument 'NEW_EVENTS...'" in out
    other = tmp_path / "other.csv"
    other.write_text("visitor,item_id\nv,a1\nv,a2\n")
    code, _, out = update(str(base), str(other), "-o", str(tmp_path / "x"))
    assert code == 1 and "no column 'user_id'" in out
    code, _, err = update(str(base), str(other), "-o", str(tmp_path / "x"), "--user-col", "visitor", "-q")
    assert code == 0 and err == ""


def test_update_with_features_learns_cold_items_and_keeps_tokens_out(tmp_path: Path) -> None:
    feats = write_features(tmp_path / "f.csv")
    model = train(write_events(tmp_path / "old.csv", users=300, seed=1), tmp_path / "m",
                  "--item-features", str(feats), "--feature-cols", "category,colour")  # fmt: skip
    # The cold items 8 (not 9) of each cluster now occur in sessions.
    new = write_events(tmp_path / "new.csv", users=200, seed=4, items=range(9), prefix="n")
    code, _, err = update(str(model), str(new), "-o", str(tmp_path / "m2"), "--epochs", "5")
    assert code == 0, err
    emb = load(tmp_path / "m2")
    inferred = [r.split("\t")[0] for r in (tmp_path / "m2" / "inferred.tsv").read_text().splitlines()[1:]]
    assert sorted(inferred) == [f"{c}9" for c in CLUSTERS]
    assert len(emb) == 40 and emb.ids[-4:] == inferred
    assert not any("=" in i for i in [*emb.ids, *emb.dropped])
    assert np.load(tmp_path / "m2" / "syn1neg.npy").shape == (36, 16)
    for item in (f"{c}8" for c in CLUSTERS):
        assert all(cluster_of(t) == cluster_of(item) for t in top(tmp_path / "m2", [item], 3)[item])
    info = json.loads(CliRunner().invoke(cli, ["info", str(tmp_path / "m2"), "-f", "json"]).output)
    assert (info["learned_items"], info["inferred_items"]) == (36, 4)


# --- input that does not fit the model --------------------------------------------------------------


def test_a_text_model_is_not_updated_with_an_event_log(tmp_path: Path) -> None:
    text = tmp_path / "book.txt"
    text.write_text("the quick brown fox jumps over the lazy dog and runs far away\n" * 30)
    model = train(text, tmp_path / "text-model")
    events = write_events(tmp_path / "new.csv", users=5, seed=3)
    code, _, out = update(str(model), str(events), "-o", str(tmp_path / "x"))
    assert code == 1
    assert out == (
        f"Error: model '{model}' was trained on text (text), but {events} reads as events (csv): update it "
        "with input of the same kind, pass --input-format if the guess is wrong, or train a new model on this data\n"
    )
    assert not (tmp_path / "x").exists()


def test_an_event_model_is_not_updated_with_sequences(base: Path, tmp_path: Path) -> None:
    sequences = tmp_path / "new.txt"
    sequences.write_text("a1 a2 a3\na2 a4\n")
    code, _, out = update(str(base), str(sequences), "-o", str(tmp_path / "x"))
    assert code == 1
    assert "was trained on events (csv), but " + str(sequences) + " reads as sequences (sequences)" in out


def test_another_table_format_is_fine(base: Path, tmp_path: Path) -> None:
    events = tmp_path / "new.jsonl"
    events.write_text(
        "".join(json.dumps({"user_id": f"n{n % 3}", "item_id": f"a{n % 5}"}) + "\n" for n in range(30))
    )
    code, _, err = update(str(base), str(events), "-o", str(tmp_path / "x"), "--epochs", "1", "-q")
    assert code == 0, err


def test_new_data_sharing_no_item_with_the_model_is_refused(base: Path, tmp_path: Path) -> None:
    # Before, the update passed: new items learned apart from every old one, old vectors unmoved.
    events = tmp_path / "new.csv"
    events.write_text("user_id,item_id\n" + "".join(f"n{n % 4},SKU-{n % 9}\n" for n in range(40)))
    code, _, out = update(str(base), str(events), "-o", str(tmp_path / "x"))
    assert code == 1
    assert out.startswith(
        f"Error: none of the 9 items in {events} is in the model (new: 'SKU-0', 'SKU-1', 'SKU-2'; the model's: "
    )
    assert "Check --item-col ('item_id') and that the ids are of the same kind" in out
    assert not (tmp_path / "x").exists()


def test_other_columns_than_the_model_was_trained_with_are_a_warning(base: Path, tmp_path: Path) -> None:
    events = tmp_path / "new.csv"
    events.write_text("visitor,item_id\n" + "".join(f"v{n % 4},a{n % 5}\n" for n in range(40)))
    code, _, err = update(
        str(base), str(events), "-o", str(tmp_path / "x"), "--user-col", "visitor", "--epochs", "1"
    )
    assert code == 0, err
    assert err.startswith(
        "Warning: --user-col is 'visitor', the model was trained with 'user_id': events are grouped into users by it\n"
    )


def test_a_corrupt_syn1neg_names_the_file(base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(base, copy)
    (copy / "syn1neg.npy").write_bytes((copy / "syn1neg.npy").read_bytes()[:-10])
    new = write_events(tmp_path / "new.csv", users=5, seed=9)
    code, _, out = update(str(copy), str(new), "-o", str(tmp_path / "x"))
    assert code == 1
    assert out.startswith(f"Error: model '{copy}' is corrupt: syn1neg.npy cannot be read (")
    np.save(copy / "syn1neg.npy", np.zeros((32, 16), dtype=np.float64))
    code, _, out = update(str(copy), str(new), "-o", str(tmp_path / "x"))
    assert code == 1
    assert (
        f"Error: model '{copy}' is corrupt: syn1neg.npy is float64 (32, 16), expected float32 (32, 16)" in out
    )
