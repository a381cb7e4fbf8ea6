"""Two writers never both succeed on one output (issue 22, items 3 and 4).

``update`` and ``embed`` replace an existing ``-o`` output only with ``--force`` (train's
no-replace rename), and lock their output for the whole run: a second writer of the same model
(another process, or another thread) fails at once with a clear error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.errors import OutputError
from item2vec.model.identity import model_lock
from item2vec.model.store import load, save
from tests.conftest import tiny_embeddings
from tests.test_features import new_items, write_events, write_features
from tests.test_update import train, update


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lock")
    return train(write_events(root / "old.csv", users=200, seed=1), root / "model")


@pytest.fixture(scope="module")
def featured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained with item attributes (embed needs them)."""
    root = tmp_path_factory.mktemp("lock-featured")
    feats = write_features(root / "features.csv")
    events = write_events(root / "events.csv", users=200, seed=1)
    return train(events, root / "model", "--item-features", str(feats), "--feature-cols", "category,colour")


BUSY = "is being written by another item2vec run: wait for it to finish, then run again"


def held_by_a_thread(path: Path) -> tuple[threading.Event, threading.Thread]:
    """Another writer (a thread of this process) holds the model's lock until the event is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with model_lock(path):
            taken.set()
            release.wait(60)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(60)
    return release, thread


def test_a_save_while_another_thread_writes_the_model_fails(tiny_model: Path) -> None:
    release, thread = held_by_a_thread(tiny_model)
    try:
        with pytest.raises(OutputError) as caught:
            save(tiny_embeddings(), tiny_model, force=True)
        assert (
            str(caught.value)
            == f"model {str(tiny_model)!r} {BUSY} (a second writer would lose one of the two results)"
        )
    finally:
        release.set()
        thread.join()
    save(tiny_embeddings(), tiny_model, force=True)  # free again
    assert sorted(p.name for p in tiny_model.parent.iterdir()) == ["tiny"]  # the lock file is gone


def test_the_lock_is_reentrant_in_one_thread(tmp_path: Path) -> None:
    with model_lock(tmp_path / "m"):
        save(tiny_embeddings(), tmp_path / "m")
    assert load(tmp_path / "m").ids == tiny_embeddings().ids


def test_update_force_while_another_process_updates_the_model_fails(base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(base, copy)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from item2vec.model.identity import "
         f"model_lock\nwith model_lock(Path({str(copy)!r})):\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = load(copy).meta["model_id"]
        new = write_events(tmp_path / "new.csv", users=50, seed=7, prefix="n")
        code, _, err = update(str(copy), str(new), "--force", "--epochs", "1")
        assert code == 1
        assert (
            err == f"Error: model {str(copy)!r} {BUSY} (a second writer would lose one of the two results)\n"
        )
        assert load(copy).meta["model_id"] == before  # untouched
    finally:
        holder.communicate("", timeout=60)
    code, _, err = update(str(copy), str(new), "--force", "--epochs", "1")
    assert code == 0, err


def test_update_does_not_replace_an_existing_output_without_force(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    save(tiny_embeddings(), out)
    new = write_events(tmp_path / "new.csv", users=50, seed=7, prefix="n")
    code, _, err = update(str(base), str(new), "-o", str(out), "--epochs", "1")
    assert code == 1
    assert err == f"Error: model directory {str(out)!r} already exists: use --force to replace it\n"
    assert load(out).ids == tiny_embeddings().ids
    code, _, err = update(str(base), str(new), "-o", str(out), "--epochs", "1", "--force")
    assert code == 0, err
    assert len(load(out)) > len(tiny_embeddings())


def test_update_to_an_output_made_meanwhile_fails(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other run saves its model at -o OUT while ours trains: ours must fail, not replace it."""
    from item2vec.training import update as update_module

    out = tmp_path / "out"
    real = update_module.resume

    def other_run_finishes_first(*args: object, **kwargs: object) -> object:
        save(tiny_embeddings(), out)  # another process: its own lock, its own rename
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(update_module, "resume", other_run_finishes_first)
    new = write_events(tmp_path / "new.csv", users=50, seed=7, prefix="n")
    code, _, err = update(str(base), str(new), "-o", str(out), "--epochs", "1")
    assert code == 1
    assert err == f"Error: model directory {str(out)!r} already exists: use --force to replace it\n"
    assert load(out).ids == tiny_embeddings().ids  # the other run's model is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "out"]


def test_embed_does_not_replace_an_existing_output_without_force(featured: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    save(tiny_embeddings(), out)
    items = new_items(tmp_path / "n.csv")
    result = CliRunner().invoke(cli, ["embed", str(featured), str(items), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: model directory {str(out)!r} already exists: use --force to replace it\n"
    result = CliRunner().invoke(cli, ["embed", str(featured), str(items), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert load(out).ids[-1] == "new-b"


def test_embed_while_another_writer_holds_the_model_fails(featured: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(featured, copy)
    release, thread = held_by_a_thread(copy)
    try:
        result = CliRunner().invoke(cli, ["embed", str(copy), str(new_items(tmp_path / "n.csv")), "--force"])
    finally:
        release.set()
        thread.join()
    assert result.exit_code == 1
    assert BUSY in result.stderr


def test_an_existing_model_names_force_in_each_edges_words(tiny_model: Path) -> None:
    import item2vec
    from item2vec.errors import OutputExistsError

    with pytest.raises(OutputExistsError) as caught:
        save(tiny_embeddings(), tiny_model)
    assert (caught.value.param, caught.value.value) == ("force", False)
    copy = tiny_model.parent / "copy"
    item2vec.load(tiny_model).save(copy)
    with pytest.raises(OutputExistsError) as api:
        item2vec.load(tiny_model).save(copy)
    assert str(api.value) == f"model directory {str(copy)!r} already exists: use force=True to replace it"


def test_attribute_vectors_of_another_model_are_refused(featured: Path, tmp_path: Path) -> None:
    """Issue 22, item 17: features.npy is checked against model.json like every other part."""
    import numpy as np

    copy = tmp_path / "copy"
    shutil.copytree(featured, copy)
    np.save(copy / "features.npy", np.load(copy / "features.npy") + 1)
    result = CliRunner().invoke(
        cli, ["embed", str(copy), str(new_items(tmp_path / "n.csv")), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: model {str(copy)!r} is corrupt: features.npy does not belong to it"
    )
