"""One model at a time: every part carries the model's identity and every reader checks it.

Issue 22, items 5, 9, 12, 16 and 17: a loaded model never pairs its vectors with the output
vectors or transitions of a model retrained since; a load during replacements gets the old model
or the new one; parts of another model, a reordered vocab.tsv, a symbolic link, NaN output
vectors or a hand-edited model.json are refused with a clear error.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from item2vec.errors import ModelError
from item2vec.model.embeddings import Embeddings
from item2vec.model.parts import load_model_transitions, load_output
from item2vec.model.store import load, save
from tests.conftest import tiny_embeddings, tiny_output, tiny_transitions
from tests.test_cli import run


def other_model() -> Embeddings:
    """The tiny model's shape and ids, other vectors: a model retrained on other data."""
    other = tiny_embeddings()
    other.vectors = other.vectors[::-1].copy() + 0.5
    return other


def save_other(path: Path) -> None:
    transitions = dataclasses.replace(tiny_transitions(), data=tiny_transitions().data * 2)
    save(other_model(), path, force=True, extra={"syn1neg": tiny_output()[::-1].copy()},
         transitions=transitions)  # fmt: skip


# --- lazy parts of a model replaced after it was loaded (item 5) -------------------------------------


def test_output_vectors_of_a_model_retrained_since_it_was_loaded_are_refused(tiny_model: Path) -> None:
    loaded = load(tiny_model)
    save_other(tiny_model)  # train --force on the same directory
    with pytest.raises(ModelError) as caught:
        load_output(tiny_model, loaded)
    assert (
        str(caught.value)
        == f"the model at {str(tiny_model)!r} was replaced since it was loaded: load it again"
    )
    with pytest.raises(ModelError, match="was replaced since it was loaded: load it again"):
        load_model_transitions(tiny_model, loaded)
    assert load_output(tiny_model, load(tiny_model)).tolist() == tiny_output()[::-1].tolist()  # loaded again


def test_a_part_gone_since_the_model_was_loaded_says_it_was_replaced(tiny_model: Path) -> None:
    loaded = load(tiny_model)
    save(other_model(), tiny_model, force=True)  # no output vectors, no transitions
    with pytest.raises(ModelError, match="was replaced since it was loaded"):
        load_output(tiny_model, loaded)


def test_the_python_model_refuses_next_after_a_retrain(tiny_model: Path) -> None:
    import item2vec

    model = item2vec.load(tiny_model)
    save_other(tiny_model)
    with pytest.raises(ModelError, match="was replaced since it was loaded: load it again"):
        model.similar("apple", score="next")


# --- loads during replacements: the old model or the new one (item 5) -------------------------------


def test_loads_during_replacements_never_mix_two_models(tmp_path: Path) -> None:
    """Another process replaces the model 60 times (as train --force does) while we load it."""
    path = tmp_path / "m"
    first, second = tiny_embeddings(), other_model()
    second.ids = second.ids[::-1]  # a reordered vocabulary: a mix would pair rows with other ids
    save(first, path)
    known = {tuple(m.ids): m.vectors.tolist() for m in (first, second)}
    writer = subprocess.Popen(
        [sys.executable, "-c", "from pathlib import Path\nfrom item2vec.model.store import save\n"
         "from tests.test_identity import other_model\nfrom tests.conftest import tiny_embeddings\n"
         "first, second = tiny_embeddings(), other_model()\nsecond.ids = second.ids[::-1]\n"
         f"for turn in range(60):\n    save(second if turn % 2 == 0 else first, Path({str(path)!r}), force=True)\n"],
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    seen, errors = set(), []
    try:
        while writer.poll() is None:
            try:
                loaded = load(path, mmap=False)
            except ModelError as exc:
                errors.append(str(exc))
                continue
            assert known[tuple(loaded.ids)] == loaded.vectors.tolist()  # its own vectors, never the other's
            seen.add(tuple(loaded.ids))
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert all("was replaced" in e for e in errors), errors  # the old model, the new one, or this
    assert seen  # loads happened


# --- parts of another model, a reordered vocabulary (item 17) ---------------------------------------


def test_a_model_json_gone_for_a_whole_replacement_is_read_again(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """model.json vanished under the reader and the replacement finished (its old copy already
    deleted) before the reader looked: the directory is another one, so it reads the new model."""
    from item2vec.model import store

    real, calls = store.read_meta, []

    def replaced_midway(path: Path) -> dict[str, object]:
        calls.append(path)
        if len(calls) == 1:
            save(other_model(), path, force=True)
            raise ModelError(f"model {str(path)!r} is corrupt: model.json is not valid JSON (No such file)")
        return real(path)

    monkeypatch.setattr(store, "read_meta", replaced_midway)
    assert load(tiny_model, mmap=False).vectors.tolist() == other_model().vectors.tolist()
    assert len(calls) == 2


def test_a_corrupt_model_json_is_not_read_again(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from item2vec.model import store

    (tiny_model / "model.json").write_text("{", encoding="utf-8")
    real, calls = store.read_meta, []

    def counted(path: Path) -> dict[str, object]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(store, "read_meta", counted)
    with pytest.raises(ModelError, match=r"model\.json is not valid JSON"):
        load(tiny_model)
    assert len(calls) == 1  # no waits and retries for a model nobody is replacing


@pytest.mark.parametrize("name", ["vectors.npy", "vocab.tsv", "items.tsv", "dropped.tsv"])
def test_a_part_of_another_model_is_refused_at_load(tiny_model: Path, tmp_path: Path, name: str) -> None:
    other = tmp_path / "other"
    save_other(other)
    if name != "vectors.npy":  # the other model's own files are alike: make its file differ
        text = (tiny_model / name).read_text().splitlines(keepends=True)
        (other / name).write_text(text[0] + "".join(reversed(text[1:])) + "zz\t1\n" * (name == "dropped.tsv"))
    shutil.copy(other / name, tiny_model / name)
    with pytest.raises(ModelError) as caught:
        load(tiny_model)
    assert str(caught.value).startswith(
        f"model {str(tiny_model)!r} is corrupt: {name} does not belong to it (its fingerprint is not"
    )


def test_output_vectors_of_another_model_of_the_same_size_are_refused(
    tiny_model: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    save_other(other)
    shutil.copy(other / "syn1neg.npy", tiny_model / "syn1neg.npy")
    loaded = load(tiny_model)
    with pytest.raises(ModelError, match=r"is corrupt: syn1neg\.npy does not belong to it"):
        load_output(tiny_model, loaded)
    result = run("similar", tiny_model, "apple", "--score", "next")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: model {str(tiny_model)!r} is corrupt: syn1neg.npy does not belong"
    )


def test_a_model_saved_before_identities_loads_unchecked(tiny_model: Path, tmp_path: Path) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    del meta["model_id"], meta["parts"]
    (tiny_model / "model.json").write_text(json.dumps(meta))
    other = tmp_path / "other"
    save_other(other)
    shutil.copy(other / "syn1neg.npy", tiny_model / "syn1neg.npy")
    loaded = load(tiny_model)  # backward compatible: nothing to check against
    assert load_output(tiny_model, loaded).tolist() == tiny_output()[::-1].tolist()


def test_every_save_is_a_new_model(tiny_model: Path, tmp_path: Path) -> None:
    first = load(tiny_model).meta["model_id"]
    save(load(tiny_model), tmp_path / "copy")
    assert load(tmp_path / "copy").meta["model_id"] != first


# --- NaN output vectors (item 9) --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_output_vectors_are_refused_when_read(tmp_path: Path, bad: float) -> None:
    output = tiny_output()
    output[5, 2] = bad
    path = tmp_path / "m"
    save(tiny_embeddings(), path, extra={"syn1neg": output})
    with pytest.raises(ModelError) as caught:
        load_output(path, load(path))
    assert str(caught.value) == (
        f"model {str(path)!r} is corrupt: syn1neg.npy row 5 (item 'apple') holds {bad}, not a finite "
        "number: retrain it"
    )
    result = run("recommend", path, "--history", "apple", "--score", "next")
    assert result.exit_code == 1 and "syn1neg.npy row 5 (item 'apple') holds" in result.stderr


# --- a hand-edited model.json (item 12) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key", "shown", "expected"),
    [
        ({"transitions": "x"}, "transitions", '"x"', "an object"),
        ({"transitions": {"steps": "2"}}, "transitions.steps", '"2"', "a whole number"),
        ({"items": 10**30}, "items", str(10**30), "a whole number from 0 to 2**63 - 1"),
        ({"params": {"epochs": -3}}, "params.epochs", "-3", "a whole number from 0 to 2**63 - 1"),
        ({"model_id": 7}, "model_id", "7", "a string"),
        ({"parts": {"vectors.npy": 1}}, "parts", '{"vectors.npy": 1}', "an object of strings"),
    ],
)
def test_a_hand_edited_model_json_names_the_key(
    tiny_model: Path, change: dict[str, object], key: str, shown: str, expected: str
) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    (tiny_model / "model.json").write_text(json.dumps({**meta, **change}))
    message = (
        f"model {str(tiny_model)!r} is corrupt: model.json key {key!r} is {shown}, expected {expected}: "
        "fix model.json or retrain the model"
    )
    with pytest.raises(ModelError) as caught:
        load(tiny_model)
    assert str(caught.value) == message
    result = run("similar", tiny_model, "apple")
    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")


@pytest.mark.parametrize(("key", "value", "what"), [("dim", 5, "4 columns"), ("items", 9, "8 rows")])
def test_a_size_that_disagrees_with_the_vectors_names_the_key(
    tiny_model: Path, key: str, value: int, what: str
) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    (tiny_model / "model.json").write_text(json.dumps({**meta, key: value}))
    message = (
        f"model {str(tiny_model)!r} is corrupt: model.json key {key!r} is {value}, but vectors.npy has "
        f"{what}: fix model.json or retrain the model"
    )
    result = run("similar", tiny_model, "apple")
    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")


# --- symbolic links inside a model (item 16) --------------------------------------------------------


@pytest.mark.parametrize("name", ["items.tsv", "vocab.tsv", "syn1neg.npy"])
def test_a_symlinked_part_is_not_followed(tiny_model: Path, tmp_path: Path, name: str) -> None:
    outside = tmp_path / f"outside-{name}"
    shutil.move(tiny_model / name, outside)
    (tiny_model / name).symlink_to(outside)
    message = (
        f"model {str(tiny_model)!r} is not safe to read: {name} is a symbolic link; a model's files must "
        "be its own: replace the link with a copy of the file"
    )
    with pytest.raises(ModelError) as caught:
        load_output(tiny_model, load(tiny_model)) if name == "syn1neg.npy" else load(tiny_model)
    assert str(caught.value) == message


# --- evaluate opens only the files the user names, or the model's own training data (item 16) -------


def trained_model(tmp_path: Path) -> tuple[Path, Path]:
    from tests.test_cli import FAST, planted_rows

    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,item_id,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in planted_rows(users=60))
    )
    model = tmp_path / "m"
    result = run("train", events, "-o", model, "--no-calibrate", *FAST)
    assert result.exit_code == 0, result.output
    return model, events


def test_evaluate_does_not_open_a_file_that_model_json_names(tmp_path: Path) -> None:
    model, events = trained_model(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the first line of a file the user never named\n")
    meta = json.loads((model / "model.json").read_text())
    meta["input"]["inputs"] = meta["input"]["input_paths"] = [str(secret)]
    (model / "model.json").write_text(json.dumps(meta))
    result = run("evaluate", model, events, "--score", "similar")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the baselines need the model's training data, but its input {str(secret)!r} ({secret}) is "
        "not the file the model was trained on (it changed since); item2vec opens only the files you name: "
        "pass it with --train FILE (or --no-baselines)\n"
    )
    assert "first line" not in result.output
    assert run("evaluate", model, events, "--score", "similar", "--train", events).exit_code == 0


def test_evaluate_reads_the_training_data_model_json_fingerprints(tmp_path: Path) -> None:
    model, events = trained_model(tmp_path)
    assert run("evaluate", model, events, "--score", "similar").exit_code == 0
    meta = json.loads((model / "model.json").read_text())
    del meta["input"]["input_digests"]  # a model from before, or from elsewhere
    (model / "model.json").write_text(json.dumps(meta))
    result = run("evaluate", model, events, "--score", "similar")
    assert result.exit_code == 1
    assert "model.json records no fingerprint of its input" in result.stderr
    assert "pass it with --train FILE (or --no-baselines)" in result.stderr


def test_info_shows_the_model_id_and_not_the_fingerprints(tiny_model: Path) -> None:
    shown = json.loads(run("info", tiny_model, "-f", "json").stdout)
    assert shown["model_id"] == load(tiny_model).meta["model_id"] and "parts" not in shown
