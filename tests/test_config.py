from __future__ import annotations

from pathlib import Path

import pytest

from item2vec.errors import ConfigError
from item2vec.training.config import PRESETS, TrainConfig, load_config_file

ALLOWED = {"dim", "window", "min_count", "preset", "user_col"}


def test_preset_values_then_overrides() -> None:
    config = TrainConfig.from_preset("text", dim=32, window=None)
    assert config.dim == 32
    assert config.window == PRESETS["text"]["window"]
    assert config.ns_exponent == 0.75
    assert config.preset == "text"


def test_recsys_differs_from_text_where_items_differ_from_words() -> None:
    recsys, text = TrainConfig.from_preset("recsys"), TrainConfig.from_preset("text")
    assert recsys.ns_exponent != text.ns_exponent


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dim", 0, "--dim 0 is invalid"),
        ("window", -1, "--window -1 is invalid"),
        ("epochs", 1.5, "--epochs 1.5 is invalid"),
        ("ns_exponent", 3.0, "--ns-exponent 3.0 is out of range"),
        ("sample", 1.0, "--sample 1.0 is out of range"),
        ("alpha", 0.0, "--alpha 0.0 is out of range"),
        ("max_vocab", 0, "--max-vocab 0 is invalid"),
        ("context", "bag", "--context 'bag' is unknown"),
    ],
)
def test_invalid_values_name_the_option(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_preset("recsys", **{field: value})


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="--preset 'words' is unknown"):
        TrainConfig.from_preset("words")


def test_toml_top_level_and_train_table(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('dim = 16\n[train]\nmin-count = 2\nuser_col = "u"\n')
    assert load_config_file(path, ALLOWED) == {"dim": 16, "min_count": 2, "user_col": "u"}


def test_toml_malformed(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("dim = = 3\n")
    with pytest.raises(ConfigError, match=r"c.toml' is not valid TOML: .*line 1"):
        load_config_file(path, ALLOWED)


def test_toml_unknown_key_lists_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("dimension = 3\n")
    with pytest.raises(ConfigError, match="unknown option 'dimension'; valid options: dim, min-count"):
        load_config_file(path, ALLOWED)


def test_toml_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "nope.toml", ALLOWED)
