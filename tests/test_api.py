"""The Python API's front door: the top-level import, ``train`` on every kind of data, its errors."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

import item2vec
from item2vec.cli import cli
from item2vec.errors import ConfigError, EmptyResultError, InputError, Item2VecError

FAST = {"dim": 12, "epochs": 5, "min_count": 1, "sample": 0.0, "workers": 1, "seed": 3}
FAST_FLAGS = [part for key, value in FAST.items() for part in (f"--{key.replace('_', '-')}", str(value))]


def event_rows(users: int = 120) -> list[tuple[str, str, int]]:
    """(user, item, epoch second), shuffled: each user buys from one of three item clusters."""
    rng = random.Random(0)
    rows = [
        (f"u{u:04d}", f"{u % 3}{rng.randrange(6):02d}", 1_700_000_000 + u * 100 + step)
        for u in range(users)
        for step in range(6)
    ]
    rng.shuffle(rows)
    return rows


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in event_rows()))
    return path


def sequences() -> list[list[str]]:
    rng = random.Random(1)
    return [[f"{c}{rng.randrange(5)}" for _ in range(rng.randrange(1, 7))] for c in "abc" for _ in range(60)]


@pytest.fixture
def sequences_txt(tmp_path: Path) -> Path:
    path = tmp_path / "sequences.txt"
    path.write_text("".join(" ".join(seq) + "\n" for seq in sequences()))
    return path


def cli_model(tmp_path: Path, *args: str | Path) -> item2vec.Model:
    out = tmp_path / "cli-model"
    result = CliRunner().invoke(cli, ["train", *map(str, args), "-o", str(out), *FAST_FLAGS, "-q"])
    assert result.exit_code == 0, result.output
    return item2vec.load(out)


def assert_same(a: item2vec.Model, b: item2vec.Model) -> None:
    assert list(a.ids) == list(b.ids)
    assert np.array_equal(a.counts, b.counts)
    assert np.array_equal(a.vectors, b.vectors)


# --- the top-level import ------------------------------------------------------------------------


def test_import_loads_nothing_heavy_and_train_is_the_function() -> None:
    code = (
        "import sys, item2vec\n"
        "heavy = [m for m in ('gensim', 'pandas', 'pyarrow', 'numpy', 'scipy', 'torch') if m in sys.modules]\n"
        "import item2vec.training.gensim_engine\n"  # the core room of that name does not shadow train
        "from item2vec import train, load, Model, ItemScore\n"
        "print(heavy, train.__module__, train.__name__, load.__module__, Model.__name__, ItemScore.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [
        "[]",
        "item2vec.api.training",
        "train",
        "item2vec.api.training",
        "Model",
        "ItemScore",
    ]


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in item2vec.__all__:
        assert getattr(item2vec, name) is not None
    assert {"train", "load", "Model", "ItemScore"} <= set(dir(item2vec))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        item2vec.nope  # noqa: B018


def test_the_package_ships_its_type_information() -> None:
    root = Path(item2vec.__file__).parent
    assert (root / "py.typed").is_file()
    pyproject = (root.parent / "pyproject.toml").read_text()
    assert 'item2vec = ["py.typed"]' in pyproject


# --- every kind of data trains as the CLI trains ---------------------------------------------------


@pytest.mark.slow
def test_a_dataframe_a_table_and_a_path_give_the_vectors_the_cli_gives(
    tmp_path: Path, events_csv: Path
) -> None:
    expected = cli_model(tmp_path, events_csv, "--time-col", "ts")
    frame = pd.read_csv(events_csv, dtype={"user_id": str, "item_id": str})  # ts stays int64
    stamped = frame.assign(ts=pd.to_datetime(frame["ts"], unit="s"))  # timestamps parse as epoch seconds do
    table = pacsv.read_csv(
        events_csv,
        convert_options=pacsv.ConvertOptions(column_types={"user_id": pa.string(), "item_id": pa.string()}),
    )
    for data in (frame, stamped, table, table.to_batches()[0], str(events_csv), [events_csv]):
        assert_same(item2vec.train(data, time="ts", **FAST), expected)


def test_lists_tuples_and_a_generator_give_the_vectors_of_the_sequence_file(
    tmp_path: Path, sequences_txt: Path
) -> None:
    expected = cli_model(tmp_path, sequences_txt)
    seqs = sequences()

    def generate() -> Iterator[list[str]]:
        yield from (list(seq) for seq in seqs)

    for data in (seqs, tuple(tuple(s) for s in seqs), generate(), sequences_txt):
        assert_same(item2vec.train(data, **FAST), expected)


def test_whole_number_ids_are_strings(tmp_path: Path) -> None:
    numbers = item2vec.train([[1, 2, 3], [2, 3, np.int64(4)]], **FAST)
    assert list(numbers.ids) == list(item2vec.train([["1", "2", "3"], ["2", "3", "4"]], **FAST).ids)


def test_save_writes_the_directory_the_cli_writes(tmp_path: Path, events_csv: Path) -> None:
    expected = cli_model(tmp_path, events_csv, "--time-col", "ts")
    saved = item2vec.train(events_csv, time="ts", **FAST).save(tmp_path / "api-model")
    assert expected.path is not None
    files = sorted(p.name for p in expected.path.iterdir())
    assert sorted(p.name for p in saved.iterdir()) == files
    for name in ("vectors.npy", "vocab.tsv", "syn1neg.npy"):
        assert (saved / name).read_bytes() == (expected.path / name).read_bytes(), name
    ours, theirs = (json.loads((d / "model.json").read_text()) for d in (saved, expected.path))
    assert ours["params"] == theirs["params"]
    assert ours["input"] == theirs["input"]
    result = CliRunner().invoke(cli, ["similar", str(saved), "000", "-k", "2", "-f", "tsv"])
    assert result.exit_code == 0 and result.stdout.startswith("query\trank\titem\tscore\n000\t1\t")


def test_session_options_and_names(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "basket": ["1", "1", "1", "2", "2", "3", "3", "3"],
            "sku": ["a", "b", "b", "a", "c", "b", "c", "x"],
            "shop": ["uk", "uk", "uk", "uk", "uk", "fr", "fr", "fr"],
        }
    )
    model = item2vec.train(
        frame, session="basket", item="sku", where="shop=uk", items={"a": " Apple "}, **FAST
    )
    assert sorted(model.ids) == ["a", "b", "c"]
    assert dict(model.names) == {"a": "Apple"}
    assert model.meta["input"]["rows_dropped"] == {"--where shop=uk": 3, "consecutive repeats": 1}
    products = tmp_path / "products.csv"
    products.write_text("sku,label\na,Apple\nc,Cherry\nq,Quince\n")
    named = item2vec.train(frame, session="basket", item="sku", items=products, title_col="label", **FAST)
    assert dict(named.names) == {"a": "Apple", "c": "Cherry"}
    table = pd.DataFrame({"sku": ["b"], "label": ["Banana"]})
    assert dict(
        item2vec.train(frame, session="basket", item="sku", items=table, title_col="label", **FAST).names
    ) == {"b": "Banana"}


def test_training_leaves_gensim_logging_alone_and_the_cli_quiets_it(events_csv: Path) -> None:
    gensim = logging.getLogger("gensim")
    gensim.setLevel(logging.NOTSET)
    item2vec.train(events_csv, time="ts", **FAST)
    assert gensim.level == logging.NOTSET
    CliRunner().invoke(cli, ["info", "nowhere"])
    assert gensim.level == logging.ERROR
    gensim.setLevel(logging.NOTSET)


# --- errors, in Python terms ---------------------------------------------------------------------


def test_a_dataframe_missing_a_column() -> None:
    frame = pd.DataFrame({"user": ["1", "1"], "item_id": ["a", "b"]})
    with pytest.raises(InputError) as caught:
        item2vec.train(frame, **FAST)
    assert str(caught.value) == (
        "<pandas.DataFrame>: no column 'user_id'; the columns are: user, item_id "
        "(choose them with user=, session=, item= and time=)"
    )
    with pytest.raises(InputError, match=r"^<pyarrow.Table>: no column 'ts'"):
        item2vec.train(pa.table(frame), user="user", time="ts", **FAST)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["a b c", "b c d"], r"^data is a list of strings \('a b c', …\), not of sequences: .*letters"),
        ([["a", "b"], "cd"], r"^data\[1\] is a str \('cd'\), not a sequence of item ids: .*letters"),
        ([["a", "b"], 7], r"^data\[1\] is a int \(7\), not a sequence of item ids"),
        ([["a", 1.5]], r"^data\[0\] holds float 1.5: item ids are strings"),
        (b"a b", r"^data must be a pandas DataFrame, a pyarrow Table, .* not bytes"),
        (42, r"^data must be .* not int"),
    ],
)
def test_strings_and_other_values_where_sequences_belong(data: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        item2vec.train(data, **FAST)


def test_an_empty_iterable_and_a_used_up_generator() -> None:
    message = r"^data holds no sequences \(it is empty, or a used-up generator\): give sequences of item ids"
    with pytest.raises(EmptyResultError, match=message):
        item2vec.train([], **FAST)
    used = iter([["a", "b"]])
    list(used)
    with pytest.raises(EmptyResultError, match=message):
        item2vec.train(used, **FAST)
    with pytest.raises(
        EmptyResultError, match=r"^no sequence has at least min_length=2 items \(1 were shorter\)"
    ):
        item2vec.train([["a"]], **FAST)


def test_unknown_parameters_suggest_the_right_name() -> None:
    with pytest.raises(
        TypeError,
        match=r"^train\(\) got an unexpected keyword argument 'min_cout'; did you mean 'min_count'\?$",
    ):
        item2vec.train([["a", "b"]], min_cout=1)
    with pytest.raises(
        TypeError, match=r"^train\(\) got an unexpected keyword argument 'sesion'; did you mean 'session'\?$"
    ):
        item2vec.train([["a", "b"]], sesion="basket")
    with pytest.raises(
        TypeError, match=r"^train\(\) got vector_size= \(gensim's name for dim\) and dim=: give one of them$"
    ):
        item2vec.train([["a", "b"]], vector_size=32, dim=16)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"min_count": "3"}, TypeError, "min_count must be a whole number (int), not str ('3')"),
        ({"dim": 1.5}, TypeError, "dim must be a whole number (int), not float (1.5)"),
        ({"max_vocab": "x"}, TypeError, "max_vocab must be a whole number (int) or None, not str ('x')"),
        ({"min_count": 0}, ConfigError, "min_count=0 is invalid: use a whole number >= 1"),
        ({"ns_exponent": 3}, ConfigError, "ns_exponent=3.0 is out of range: use a value between -2 and 2"),
        ({"context": "bag"}, ConfigError, "context='bag' is unknown: use 'window' or 'set'"),
        ({"preset": "movies"}, ConfigError, "preset='movies' is unknown: use one of recsys, text"),
    ],
)
def test_wrong_values_name_the_parameter_as_python_spells_it(
    params: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        item2vec.train([["a", "b"]], **params)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_nothing_above_min_count_names_min_count() -> None:
    with pytest.raises(EmptyResultError) as caught:
        item2vec.train([["a", "b"], ["c", "d"]], min_count=5, workers=1)
    assert str(caught.value) == (
        "all 4 items are below min_count=5 (the most frequent occurs 1 times): "
        "use min_count=1 or lower, or train on more data"
    )
    assert "--" not in str(caught.value)


def test_options_that_do_not_apply_are_refused(sequences_txt: Path) -> None:
    with pytest.raises(TypeError, match=r"^user, time apply to event tables, not to sequences"):
        item2vec.train([["a", "b"]], user="u", time="ts")
    with pytest.raises(TypeError, match=r"^session applies to event tables, not to sequences files"):
        item2vec.train(sequences_txt, session="basket", **FAST)
    with pytest.raises(TypeError, match=r"^input_format applies to files only"):
        item2vec.train(pd.DataFrame({"user_id": ["1"], "item_id": ["a"]}), input_format="csv")
    with pytest.raises(TypeError, match=r"^id_col and title_col name the columns of an items table"):
        item2vec.train([["a", "b"]], title_col="name")
    with pytest.raises(
        TypeError, match=r"^items must be a mapping of item id to name, a DataFrame or a path"
    ):
        item2vec.train([["a", "b"]], items=42, **FAST)
    with pytest.raises(TypeError, match=r"^item must be a column name \(str\), not list"):
        item2vec.train([["a", "b"]], item=["sku"])  # type: ignore[arg-type]


def test_session_errors_name_parameters(events_csv: Path) -> None:
    with pytest.raises(ConfigError, match=r"^session_gap= needs time=: sessions are split on time gaps$"):
        item2vec.train(events_csv, session_gap="30m")
    with pytest.raises(ConfigError, match=r"^where='shop' is invalid: use COL=VALUE, COL!=VALUE, COL>N"):
        item2vec.train(events_csv, where=["shop"])
    with pytest.raises(InputError, match=r"^input file 'nope.csv' does not exist$"):
        item2vec.train("nope.csv")
    with pytest.raises(Item2VecError, match=r"^model directory 'nowhere' does not exist"):
        item2vec.load("nowhere")
