"""The memory estimate made before gensim allocates the vectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.corpus.packed import Packed
from item2vec.errors import ConfigError
from item2vec.training import memory
from item2vec.training.config import TrainConfig
from item2vec.training.memory import available_memory, check_memory, training_bytes

GIB = 2**30


@pytest.fixture
def eight_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: 8 * GIB)


def test_bytes_are_two_float32_matrices_and_the_vocabulary() -> None:
    assert training_bytes(1000, 64) == 1000 * (64 * 4 * 2 + 500)


@pytest.mark.slow
def test_dim_two_billion_is_refused_naming_the_estimate(tmp_path: Path, eight_gib: None) -> None:
    # Before, numpy tried to allocate 298 GiB (a traceback, or the OOM killer).
    path = tmp_path / "e.csv"
    path.write_text("user_id,item_id\n" + "".join(f"u{n % 4},i{n}\n" for n in range(20)))
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m"), "--dim", "2000000000",
                                      "--min-count", "1"])  # fmt: skip
    assert result.exit_code == 1
    assert result.output == (
        "Error: --dim 2000000000 needs about 298.0 GiB for 20 items (input and output vectors of "
        "2,000,000,000 floats each), more than the 8.0 GiB of memory available: lower --dim (64 to 300 is "
        "usual), or keep fewer items (--min-count, --max-vocab)\n"
    )
    assert not (tmp_path / "m").exists()


def test_items_below_min_count_do_not_count(eight_gib: None) -> None:
    # 3 items, 1 of them kept: 1 x 2 x 4 x 500M floats = 3.7 GiB fits; 3 would not.
    sequences = [["a", "b", "a"], ["a", "c"]]
    config = TrainConfig(dim=500_000_000, min_count=3, workers=1)
    check_memory(sequences, config)
    check_memory(Packed.from_lists(sequences), config)
    with pytest.raises(ConfigError, match=r"needs about 11.2 GiB for 3 items"):
        check_memory(Packed.from_lists(sequences), TrainConfig(dim=500_000_000, min_count=1, workers=1))


def test_max_vocab_caps_the_items(eight_gib: None) -> None:
    sequences = [["a", "b", "c", "d"]]
    check_memory(sequences, TrainConfig(dim=500_000_000, min_count=1, max_vocab=2, workers=1))
    with pytest.raises(ConfigError, match=r"for 3 items"):
        check_memory(sequences, TrainConfig(dim=500_000_000, min_count=1, max_vocab=3, workers=1))


def test_unknown_memory_refuses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    check_memory([["a", "b"]], TrainConfig(dim=2_000_000_000, min_count=1, workers=1))


def test_available_memory_on_this_machine() -> None:
    found = available_memory()
    assert found is None or found > 0


LATE_STAGE = """
import json, sys
import numpy as np
import item2vec.training.pipeline as pipeline
from item2vec.cli import cli

counted = pipeline.build_for_model

def hungry(*args, **kwargs):
    block = np.ones(640 * 2**20, dtype=np.uint8)  # 640 MB touched after the old read point
    block.sum()
    del block
    return counted(*args, **kwargs)

pipeline.build_for_model = hungry
cli.main(sys.argv[1:], standalone_mode=False)
"""


@pytest.mark.slow
def test_the_peak_counts_a_stage_after_training(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    seqs = tmp_path / "seqs.txt"
    seqs.write_text("a b c\nb a\nc a b d\n" * 20)
    model = tmp_path / "m"
    args = ["train", str(seqs), "-o", str(model), "--dim", "8", "--epochs", "1", "--min-count", "1",
            "--workers", "1", "--no-calibrate"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", LATE_STAGE, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stored = json.loads((model / "model.json").read_text())["training"]["peak_rss_mb"]
    printed = float(done.stderr.split("Peak memory ")[1].split(" MB")[0].replace(",", ""))
    assert stored > 640 and printed + 0.5 >= stored  # printed to the MB
