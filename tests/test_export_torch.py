"""PyTorch and safetensors embedding tables, and the options every export takes (subset, normalize, float16)."""

from __future__ import annotations

import importlib.util
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import EmptyResultError, InputError, UnknownItemError
from item2vec.export.formats import EXPORT_FORMATS, export
from item2vec.export.selection import prepare
from item2vec.model.embeddings import Embeddings
from tests.conftest import TINY_VECTORS, tiny_embeddings

IDS = list(TINY_VECTORS)
VECTORS = np.array([TINY_VECTORS[i] for i in IDS], dtype=np.float32)
NO_FAISS = pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss is not installed")
ALL_FORMATS = [pytest.param(f, marks=NO_FAISS) if f == "faiss" else f for f in EXPORT_FORMATS]


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


# torch ---------------------------------------------------------------------------------------------


def test_torch_table_loads_into_nn_embedding_with_padding(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "items.pt"
    assert export(tiny_embeddings(), "torch", path) == [path]
    saved = torch.load(path, weights_only=True)  # plain tensors, lists and ints: no code runs
    assert sorted(saved) == ["ids", "padding_idx", "weight"]
    assert saved["ids"] == [None, *IDS]
    assert saved["padding_idx"] == 0
    weight = saved["weight"]
    assert weight.dtype == torch.float32
    assert tuple(weight.shape) == (9, 4)
    assert torch.equal(weight[0], torch.zeros(4))
    assert np.array_equal(weight[1:].numpy(), VECTORS)

    layer = torch.nn.Embedding.from_pretrained(weight, padding_idx=0, freeze=True)
    row = {item: r for r, item in enumerate(saved["ids"]) if item is not None}
    looked_up = layer(torch.tensor([row["queen"], 0, row["plum"]]))
    assert looked_up.tolist() == [TINY_VECTORS["queen"], [0.0] * 4, pytest.approx(TINY_VECTORS["plum"])]
    assert not layer.weight.requires_grad


def test_torch_without_padding(tmp_path: Path) -> None:
    import torch

    export(tiny_embeddings(), "torch", tmp_path / "t.pt", padding=False)
    saved = torch.load(tmp_path / "t.pt", weights_only=True)
    assert saved["ids"] == IDS
    assert saved["padding_idx"] is None
    assert np.array_equal(saved["weight"].numpy(), VECTORS)


def test_torch_missing_names_what_to_install(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    result = run("export", tiny_model, "-f", "torch", "-o", tmp_path / "t.pt")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --format torch needs torch, which is not installed: pip install torch "
        "(or use --format safetensors, which does not need it)\n"
    )
    assert not (tmp_path / "t.pt").exists()


# safetensors ---------------------------------------------------------------------------------------


def read_header(path: Path) -> tuple[int, dict[str, object]]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return length, json.loads(raw[8 : 8 + length])


def test_safetensors_is_read_by_the_reference_library(tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.numpy import load_file

    path = tmp_path / "items.safetensors"
    assert export(tiny_embeddings(), "safetensors", path) == [path]
    tensors = load_file(path)
    assert list(tensors) == ["weight"]
    assert tensors["weight"].dtype == np.float32
    assert np.array_equal(tensors["weight"], np.vstack([np.zeros((1, 4), np.float32), VECTORS]))
    with safe_open(path, "np") as handle:
        metadata = handle.metadata()
    assert metadata["padding_idx"] == "0"
    assert metadata["format"] == "item2vec"
    assert json.loads(metadata["ids"]) == [None, *IDS]
    length, header = read_header(path)
    assert (8 + length) % 8 == 0  # data aligned, as the reference writer does
    assert header["weight"] == {"dtype": "F32", "shape": [9, 4], "data_offsets": [0, 9 * 4 * 4]}
    assert path.stat().st_size == 8 + length + 9 * 4 * 4


def test_safetensors_loads_with_torch(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    export(tiny_embeddings(), "safetensors", tmp_path / "t.safetensors", dtype="float16", padding=False)
    weight = load_file(tmp_path / "t.safetensors")["weight"]
    assert weight.dtype == torch.float16
    assert np.array_equal(weight.numpy(), VECTORS.astype(np.float16))
    layer = torch.nn.Embedding.from_pretrained(weight.float())
    assert layer(torch.tensor([1])).tolist() == [TINY_VECTORS["queen"]]


def test_safetensors_needs_no_torch(tmp_path: Path, tiny_model: Path) -> None:
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['safetensors'] = None\n"
        "from item2vec.cli import main; main()"
    )
    out = tmp_path / "t.safetensors"
    args = ["export", str(tiny_model), "-f", "safetensors", "-o", str(out)]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"wrote {out}\n"
    assert read_header(out)[1]["weight"] == {"dtype": "F32", "shape": [9, 4], "data_offsets": [0, 144]}


def test_safetensors_streams_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.numpy import load_file

    from item2vec.export import tensors as torch_export

    monkeypatch.setattr(torch_export, "_CHUNK_ROWS", 3)  # several chunks, the last one short
    export(tiny_embeddings(), "safetensors", tmp_path / "t.safetensors")
    assert np.array_equal(load_file(tmp_path / "t.safetensors")["weight"][1:], VECTORS)


# options shared by every format -------------------------------------------------------------------


def test_prepare_subset_keeps_order_and_drops_repeats() -> None:
    chosen = prepare(tiny_embeddings(), items=["plum", "king", "plum", "pear"])
    assert chosen.ids == ["plum", "king", "pear"]
    assert chosen.counts.tolist() == [10, 80, 20]
    assert chosen.names == {"plum": "Plum (dark)", "king": "King", "pear": "Green Pear"}
    assert np.array_equal(chosen.vectors, VECTORS[[7, 0, 6]])


def test_prepare_normalize_and_float16() -> None:
    chosen = prepare(tiny_embeddings(), normalize=True, dtype="float16")
    assert chosen.vectors.dtype == np.float16
    assert np.allclose(np.linalg.norm(chosen.vectors.astype(np.float32), axis=1), 1.0, atol=1e-3)
    assert float(chosen.vectors[0, 0]) == pytest.approx(2**-0.5, abs=1e-3)


def test_prepare_errors() -> None:
    with pytest.raises(UnknownItemError, match=r"item 'kiwi' is not in the model \(8 items"):
        prepare(tiny_embeddings(), items=["apple", "kiwi"])
    with pytest.raises(EmptyResultError, match="--ids lists no ids") as empty:
        prepare(tiny_embeddings(), items=[])
    assert empty.value.param == "ids"
    huge = tiny_embeddings()
    huge.vectors = huge.vectors * 1e5
    with pytest.raises(InputError) as info:
        prepare(huge, dtype="float16")
    assert str(info.value) == (
        "a vector value (1e+05) is too large for float16 (max 65504): add --normalize or keep --dtype float32"
    )
    assert (info.value.param, info.value.value) == ("dtype", "float16")
    assert prepare(huge, dtype="float16", normalize=True).vectors.dtype == np.float16


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_takes_subset_and_normalize(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / ("proj" if fmt == "projector" else "out")
    export(tiny_embeddings(), fmt, path, items=["pear", "king"], normalize=True)
    ids, vectors = read_back(fmt, path)
    assert ids == ["pear", "king"] or (fmt.startswith("word2vec") and ids == ["king", "pear"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("fmt", [f for f in EXPORT_FORMATS if f not in ("word2vec-binary", "faiss")])
def test_float16_round_trips_exactly(tmp_path: Path, fmt: str) -> None:
    embeddings = tiny_embeddings()
    embeddings.vectors = (VECTORS + np.float32(1 / 3)).astype(np.float32)  # not exact in float16
    path = tmp_path / ("proj" if fmt == "projector" else "out")
    export(embeddings, fmt, path, dtype="float16", normalize=False)
    ids, vectors = read_back(fmt, path)
    order = [IDS.index(i) for i in ids]
    assert np.array_equal(vectors.astype(np.float16), embeddings.vectors[order].astype(np.float16))
    if fmt in ("npy", "torch", "safetensors"):
        assert vectors.dtype == np.float16


def test_float16_sizes_are_half(tmp_path: Path) -> None:
    embeddings = Embeddings(
        ids=[f"i{n}" for n in range(500)],
        vectors=np.random.default_rng(0).standard_normal((500, 32)).astype(np.float32),
        counts=np.ones(500, dtype=np.int64),
    )
    export(embeddings, "npy", tmp_path / "a.npy")
    export(embeddings, "npy", tmp_path / "b.npy", dtype="float16")
    assert (tmp_path / "b.npy").stat().st_size < 0.55 * (tmp_path / "a.npy").stat().st_size


def read_back(fmt: str, path: Path) -> tuple[list[str], np.ndarray]:
    """Ids and vectors of an export, padding row dropped."""
    if fmt in ("word2vec", "word2vec-binary"):
        from gensim.models import KeyedVectors

        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=fmt == "word2vec-binary", datatype=np.float32
        )
        return list(kv.index_to_key), kv.vectors
    if fmt == "npy":
        ids = path.with_suffix(".ids.txt").read_text(encoding="utf-8").split()
        return ids, np.load(path, allow_pickle=False)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        vectors = table.column("vector").combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
        return table.column("id").to_pylist(), vectors
    if fmt == "jsonl":
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [r["id"] for r in records], np.array([r["vector"] for r in records], dtype=np.float32)
    if fmt == "faiss":
        import faiss

        index = faiss.read_index(str(path))
        rows = faiss.vector_to_array(index.id_map)
        ids = path.with_suffix(".ids.txt").read_text(encoding="utf-8").splitlines()
        return [ids[r] for r in rows], index.index.reconstruct_n(0, index.ntotal)
    if fmt == "projector":
        ids = [line.split("\t")[0] for line in (path / "metadata.tsv").read_text().splitlines()[1:]]
        return ids, np.loadtxt(path / "vectors.tsv", delimiter="\t", ndmin=2)
    if fmt == "torch":
        import torch

        saved = torch.load(path, weights_only=True)
        return saved["ids"][1:], saved["weight"][1:].numpy()
    from safetensors import safe_open

    with safe_open(path, "np") as handle:
        return json.loads(handle.metadata()["ids"])[1:], handle.get_tensor("weight")[1:]


def test_option_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        export(tiny_embeddings(), "word2vec-binary", tmp_path / "v.bin", dtype="float16")
    assert str(info.value) == (
        "--dtype float16 is not possible for word2vec-binary (the word2vec binary format stores float32): "
        "use --format npy, parquet, torch or safetensors"
    )
    with pytest.raises(InputError) as info:
        export(tiny_embeddings(), "npy", tmp_path / "v.npy", padding=False)
    assert str(info.value) == "--no-padding applies to --format torch and safetensors only, not npy"
    assert (info.value.param, info.value.value) == ("padding", False)
    with pytest.raises(InputError, match="dtype 'int8' is unknown: use one of float32, float16") as unknown:
        export(tiny_embeddings(), "npy", tmp_path / "v.npy", dtype="int8")
    assert (unknown.value.param, unknown.value.value) == ("dtype", "int8")
    assert list(tmp_path.iterdir()) == []


# CLI -----------------------------------------------------------------------------------------------


def test_cli_export_subset_from_stdin(tmp_path: Path, tiny_model: Path) -> None:
    import torch

    out = tmp_path / "sub.pt"
    result = run(
        "export", tiny_model, "-f", "torch", "-o", out, "--ids", "-", "--normalize", input="pear\n\nking\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}\n"
    saved = torch.load(out, weights_only=True)
    assert saved["ids"] == [None, "pear", "king"]
    assert torch.allclose(saved["weight"].norm(dim=1), torch.tensor([0.0, 1.0, 1.0]))


def test_cli_export_unknown_subset_item(tmp_path: Path, tiny_model: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("apple\nduke\n", encoding="utf-8")
    result = run("export", tiny_model, "-f", "safetensors", "-o", tmp_path / "t.st", "--ids", ids)
    assert result.exit_code == 1
    assert result.output == (
        "Error: item 'duke' is not in the model (8 items; it occurred 3 times, below --min-count 5): "
        "retrain with a lower --min-count to keep it\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.txt", "tiny"]


def test_cli_no_padding_and_dtype(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "t.safetensors"
    result = run("export", tiny_model, "-f", "safetensors", "-o", out, "--no-padding", "--dtype", "float16")
    assert result.exit_code == 0, result.output
    assert read_header(out)[1]["weight"] == {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}
    result = run("export", tiny_model, "-f", "npy", "-o", tmp_path / "v.npy", "--no-padding")
    assert result.exit_code == 1
    assert result.output == "Error: --no-padding applies to --format torch and safetensors only, not npy\n"


def test_cli_export_into_the_model_is_refused(tmp_path: Path, tiny_model: Path) -> None:
    before = (tiny_model / "vectors.npy").read_bytes()
    result = run("export", tiny_model, "-f", "npy", "-o", tiny_model / "vectors.npy", "--force")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {str(tiny_model / 'vectors.npy')!r} is inside the model directory {str(tiny_model)!r}: "
        "an export never replaces the model's files; write it elsewhere\n"
    )
    assert (tiny_model / "vectors.npy").read_bytes() == before


def test_cli_word2vec_keeps_the_order_of_the_ids(tmp_path: Path, tiny_model: Path) -> None:
    result = run("export", tiny_model, "-f", "word2vec", "-o", "-", "--ids", "-", input="pear\nking\napple\n")
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["3", "pear", "king", "apple"]
