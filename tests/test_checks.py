"""Load-time checks: finite vectors, the model's arrays, model.json's types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.errors import ModelError
from item2vec.model import checks
from item2vec.model.checks import check_finite, load_array
from item2vec.model.store import load, read_meta, save
from item2vec.training.feature_space import load_space
from tests.conftest import tiny_embeddings


def spoil_vectors(model: Path, row: int, value: float) -> None:
    vectors = np.load(model / "vectors.npy")
    vectors[row, 1] = value
    np.save(model / "vectors.npy", vectors)


@pytest.mark.parametrize("mmap", [True, False])
@pytest.mark.parametrize(("value", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_vectors_are_refused_at_load(
    tiny_model: Path, mmap: bool, value: float, shown: str
) -> None:
    spoil_vectors(tiny_model, 5, value)
    with pytest.raises(ModelError) as caught:
        load(tiny_model, mmap=mmap)
    assert str(caught.value) == (
        f"model {str(tiny_model)!r} is corrupt: vectors.npy row 5 (item 'apple') holds {shown}, "
        "not a finite number: retrain it"
    )


def test_a_nan_model_never_prints_nan(tiny_model: Path) -> None:
    spoil_vectors(tiny_model, 0, np.nan)
    result = CliRunner().invoke(cli, ["similar", str(tiny_model), "apple", "-f", "json"])
    assert result.exit_code == 1
    assert "NaN" not in result.output
    assert result.output.startswith(
        f"Error: model {str(tiny_model)!r} is corrupt: vectors.npy row 0 (item 'king')"
    )


def test_the_finite_check_reads_in_chunks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(checks, "_CHUNK_VALUES", 8)  # two rows of four a chunk
    array = np.ones((9, 4), dtype=np.float32)
    check_finite(array, tmp_path, "x.npy")
    array[8, 3] = np.nan  # in the last, short chunk
    with pytest.raises(ModelError, match=r"x.npy row 8 holds nan"):
        check_finite(array, tmp_path, "x.npy")


@pytest.mark.parametrize(
    ("write", "shown"),
    [
        (lambda p: p.write_bytes(np.load(p).tobytes()[:10]), "cannot be read"),
        (lambda p: p.write_bytes(p.read_bytes()[:-7]), "cannot be read"),
        (
            lambda p: np.save(p, np.zeros((8, 4), dtype=np.float64)),
            "is float64 (8, 4), expected float32 (8, 4)",
        ),
        (
            lambda p: np.save(p, np.zeros((8, 3), dtype=np.float32)),
            "is float32 (8, 3), expected float32 (8, 4)",
        ),
        (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), "cannot be read"),
        (lambda p: np.save(p, np.full((8, 4), np.nan, dtype=np.float32)), "row 0 holds nan"),
    ],
)
def test_a_corrupt_array_names_its_file(tmp_path: Path, write: Any, shown: str) -> None:
    np.save(tmp_path / "syn1neg.npy", np.zeros((8, 4), dtype=np.float32))
    write(tmp_path / "syn1neg.npy")
    with pytest.raises(ModelError) as caught:
        load_array(tmp_path, "syn1neg.npy", 8, 4)
    assert str(caught.value).startswith(f"model {str(tmp_path)!r} is corrupt: syn1neg.npy {shown}")


def features_model(path: Path) -> Path:
    embeddings = tiny_embeddings()
    embeddings.meta["features"] = {"prefix": "~f:", "columns": ["kind"], "id_col": "item_id"}
    tables = {
        "features": (("feature", "count"), [("kind=fruit", 3), ("kind=royal", 5)]),
        "item_features": (("id", "feature"), [("apple", "kind=fruit"), ("king", "kind=royal")]),
    }
    extra = {
        "features": np.ones((2, 4), dtype=np.float32),
        "features_syn1neg": np.ones((2, 4), dtype=np.float32),
    }
    save(embeddings, path, extra=extra, tables=tables)
    return path


@pytest.mark.parametrize("name", ["features.npy", "features_syn1neg.npy"])
def test_corrupt_feature_arrays_name_the_file(tmp_path: Path, name: str) -> None:
    model = features_model(tmp_path / "m")
    assert load_space(model, read_meta(model)) is not None
    (model / name).write_bytes((model / name).read_bytes()[:-4])
    with pytest.raises(ModelError, match=rf"is corrupt: {name} cannot be read"):
        load_space(model, read_meta(model))
    np.save(model / name, np.ones((3, 4), dtype=np.float32))  # a row more than features.tsv lists
    with pytest.raises(ModelError, match=rf"{name} is float32 \(3, 4\), expected float32 \(2, 4\)"):
        load_space(model, read_meta(model))


def edit_meta(model: Path, change: dict[str, Any]) -> None:
    meta = json.loads((model / "model.json").read_text())
    for dotted, value in change.items():
        keys = dotted.split(".")
        target = meta
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    (model / "model.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("change", "key", "shown", "expected"),
    [
        ({"params.dim": "x"}, "params.dim", '"x"', "a whole number"),
        ({"items": None}, "items", "null", "a whole number"),
        ({"params": [1]}, "params", "[1]", "an object"),
        ({"params.alpha": True}, "params.alpha", "true", "a number"),
        ({"params.max_vocab": "10"}, "params.max_vocab", '"10"', "a whole number (or null)"),
        ({"input.session.where": "a=b"}, "input.session.where", '"a=b"', "a list of strings"),
        ({"input.inputs": [1]}, "input.inputs", "[1]", "a list of strings"),
        ({"input.session.min_length": 2.5}, "input.session.min_length", "2.5", "a whole number"),
        ({"features": ["x"]}, "features", '["x"]', "an object"),
        ({"updates": {}}, "updates", "{}", "a list"),
    ],
)
def test_hand_edited_model_json_names_the_key(
    tiny_model: Path, change: dict[str, Any], key: str, shown: str, expected: str
) -> None:
    edit_meta(tiny_model, change)
    with pytest.raises(ModelError) as caught:
        load(tiny_model)
    assert str(caught.value) == (
        f"model {str(tiny_model)!r} is corrupt: model.json key {key!r} is {shown}, expected {expected}: "
        "fix model.json or retrain the model"
    )


def test_unknown_keys_and_null_features_are_fine(tiny_model: Path) -> None:
    edit_meta(tiny_model, {"notes": [1, 2], "features": None, "params.future_option": "x"})
    assert len(load(tiny_model)) == 8


def test_cli_on_a_hand_edited_model(tiny_model: Path) -> None:
    edit_meta(tiny_model, {"params.dim": "x"})
    result = CliRunner().invoke(cli, ["info", str(tiny_model)])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: model {str(tiny_model)!r} is corrupt: model.json key 'params.dim'"
    )
