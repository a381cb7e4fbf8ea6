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


# --config values get the types and ranges of their flags --------------------------------------------

EVENTS = "user_id,item_id,ts\n" + "".join(f"u{n % 5},i{n % 7},{1_700_000_000 + n}\n" for n in range(60))


def train_with_config(tmp_path: Path, toml: str, *flags: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from item2vec.cli import cli

    (tmp_path / "e.csv").write_text(EVENTS)
    (tmp_path / "c.toml").write_text(toml)
    args = ["train", str(tmp_path / "e.csv"), "-o", str(tmp_path / "m"), "--config", str(tmp_path / "c.toml")]
    result = CliRunner().invoke(cli, [*args, "--min-count", "1", "--workers", "1", "-q", *flags])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("dim = 32.9", "dim = 32.9 is invalid: use a whole number, as --dim takes"),
        ("[train]\nepochs = 1.5", "epochs = 1.5 is invalid: use a whole number, as --epochs takes"),
        ("dim = true", "dim = true is invalid: use a value, not true or false, as --dim takes"),
        ('alpha = "fast"', "alpha = \"fast\" is invalid: 'fast' is not a valid float."),
        (
            'drop-repeats = "yes"',
            'drop-repeats = "yes" is invalid: use true or false, as --drop-repeats takes',
        ),
        ("min-length = 0", "min-length = 0 is invalid: 0 is not in the range x>=1."),
        ('context = "bag"', "context = \"bag\" is invalid: 'bag' is not one of 'window', 'set'."),
        ("user-col = [1, 2]", "user-col = [1, 2] is invalid: use one value, not a list or table"),
    ],
)
def test_config_values_are_checked_like_flags(tmp_path: Path, toml: str, message: str) -> None:
    # Before, dim = 32.9 trained with dim 32 while --dim 32.9 was refused.
    code, output = train_with_config(tmp_path, toml)
    assert code == 2
    assert (
        f"Error: Invalid value for '--config': config file {str(tmp_path / 'c.toml')!r}: {message}" in output
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_config_values_as_the_command_line_would_take_them(tmp_path: Path) -> None:
    import json

    toml = 'dim = "8"\nepochs = 1\nalpha = 1\nsession-gap = 1800\ntime-col = "ts"\nwhere = "item_id!=i6"\n'
    code, output = train_with_config(tmp_path, toml)
    assert code == 0, output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert (meta["params"]["dim"], meta["params"]["alpha"]) == (8, 1.0)
    assert meta["input"]["session"]["session_gap_seconds"] == 1800.0
    assert meta["input"]["session"]["where"] == ["item_id!=i6"]


def test_seed_beyond_what_numpy_takes_is_refused() -> None:
    assert TrainConfig(seed=2**32 - 1).seed == 4294967295
    with pytest.raises(ConfigError) as caught:
        TrainConfig(seed=2**32)
    assert str(caught.value) == "--seed 4294967296 is invalid: use a whole number from 0 to 4294967295"


def test_cli_seed_beyond_2_32(tmp_path: Path) -> None:
    code, output = train_with_config(tmp_path, "dim = 8", "--seed", str(2**32))
    assert code == 1
    assert output == "Error: --seed 4294967296 is invalid: use a whole number from 0 to 4294967295\n"


def test_tune_checks_its_seed_before_searching() -> None:
    from item2vec.evaluation.tune import TuneOptions

    with pytest.raises(ConfigError, match=r"--seed 4294967296 is invalid"):
        TuneOptions(seed=2**32)


# --- the recsys preset keeps every item ---------------------------------------------------------


def test_recsys_keeps_every_item_unless_a_min_count_is_given(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from item2vec.cli import cli

    # 60 sessions over items a..d, then 40 one-off items
    rows = [f"s{i},{item}\n" for i in range(60) for item in ("abc" if i % 2 else "bcd")]
    rows += [f"t{i},rare{i}\nt{i},a\n" for i in range(20)]
    rows += [f"t{i},rare{i}b\n" for i in range(20)]
    path = tmp_path / "e.csv"
    path.write_text("session_id,item_id\n" + "".join(rows))
    fast = [
        "--session-col",
        "session_id",
        "--dim",
        "8",
        "--epochs",
        "1",
        "--workers",
        "1",
        "-q",
        "--no-calibrate",
    ]
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m"), *fast])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["params"]["min_count"] == 1
    assert "min_count_profile" not in meta["input"]
    given = CliRunner().invoke(
        cli, ["train", str(path), "-o", str(tmp_path / "n"), *fast, "--min-count", "3"]
    )
    assert given.exit_code == 0, given.output
    meta = json.loads((tmp_path / "n" / "model.json").read_text())
    assert meta["params"]["min_count"] == 3
