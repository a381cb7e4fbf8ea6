"""Approximate nearest-neighbour indexes (Faiss), stored in the model directory.

Two files sit beside the vectors: ``index.faiss`` (Faiss's own binary format, not pickle) and
``index.json`` (kind, parameters, build time, and which model it was built for). One index per
model; building another replaces it. A model with output vectors (``syn1neg.npy``) gets a second
pair, ``index-next.faiss`` and ``index-next.json``, over them, for the ``next`` score (and
``hybrid`` on the in·out base): inner product of unit vectors is the in·out cosine.

An index only proposes candidates: a shortlist of ``k x rerank`` items per query, whose scores
are then recomputed exactly from ``vectors.npy``. An approximate answer can miss an item, but
every score it reports is the true cosine, and the order is the exact order of the shortlist.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, ConfigError, ModelError, check_choice, param
from item2vec.extras import require
from item2vec.files import atomic_files
from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows
from item2vec.query.topk import neighbours, rescore

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

KINDS = ("flat", "hnsw", "lsh", "ivfpq")
INDEX_FILE = "index.faiss"
PARAMS_FILE = "index.json"
# Which vectors an index holds → its two files (input vectors: similar; output vectors: next).
FILES = {"input": (INDEX_FILE, PARAMS_FILE), "output": ("index-next.faiss", "index-next.json")}
INDEX_FORMAT = 1
_TRAIN_SAMPLE = 200_000
_CHUNK = 65_536
_BATCH = 1024


@dataclass(frozen=True)
class IndexParams:
    """What to build. ``None`` means the default for the model's size (see ``resolved``)."""

    kind: str = "hnsw"
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 64
    bits: int | None = None
    lists: int | None = None
    probes: int = 16
    pq_m: int | None = None
    rerank: int | None = None
    seed: int = 0

    def resolved(self, items: int, dim: int) -> IndexParams:
        """Defaults filled in for ``items`` x ``dim`` vectors, every value checked.

        Raises:
            ConfigError: a value out of range, or a kind the model is too small for.
        """
        check_choice("kind", self.kind, KINDS)
        lists = self.lists or max(1, min(int(4 * items**0.5), items // 39))
        pq_m = self.pq_m or _divisor_near(dim, dim // 4)
        bits = self.bits or 4 * dim
        rerank = self.rerank or (10 if self.kind in ("lsh", "ivfpq") else 1)
        for name, value in (("hnsw_m", self.hnsw_m), ("ef_search", self.ef_search),
                            ("ef_construction", self.ef_construction), ("probes", self.probes),
                            ("bits", bits), ("lists", lists), ("pq_m", pq_m), ("rerank", rerank)):  # fmt: skip
            if value < 1:
                raise ConfigError(param=name, value=value, expected="1 or more")
        if self.kind == "ivfpq":
            _check_ivfpq(items, dim, lists, pq_m)
        return replace(self, lists=lists, pq_m=pq_m, bits=bits, rerank=rerank)

    def recorded(self) -> dict[str, Any]:
        """The parameters that matter for this kind, for index.json and reports."""
        keep = {
            "flat": ("rerank",),
            "hnsw": ("hnsw_m", "ef_construction", "ef_search", "rerank"),
            "lsh": ("bits", "rerank", "seed"),
            "ivfpq": ("lists", "probes", "pq_m", "rerank", "seed"),
        }[self.kind]
        values = asdict(self)
        return {name: values[name] for name in keep}


def _divisor_near(dim: int, target: int) -> int:
    """The divisor of ``dim`` closest to ``target`` (PQ sub-quantizers must divide dim)."""
    divisors = [d for d in range(1, dim + 1) if dim % d == 0]
    return min(divisors, key=lambda d: (abs(d - max(1, target)), d))


def _check_ivfpq(items: int, dim: int, lists: int, pq_m: int) -> None:
    if dim % pq_m:
        expected = f"a divisor of the dimension {dim}"
        raise ConfigError(f"{param('pq_m', pq_m)} is invalid: it must divide the dimension {dim}", param="pq_m",
                          value=pq_m, expected=expected)  # fmt: skip
    if items < 256:
        raise ConfigError(
            f"an ivfpq index needs at least 256 items to train its codebooks (the model has {items:,}): "
            f"use {param('kind', Bare('flat'))} or hnsw"
        )
    if lists > items:
        raise ConfigError(
            f"{param('lists', Bare(f'{lists:,}'))} is more than the model's {items:,} items: use fewer lists",
            param="lists", value=lists, expected=f"at most {items:,}",
        )  # fmt: skip


def _faiss() -> Any:
    return require("faiss", "an index")


def set_threads(threads: int) -> None:
    """Faiss's OpenMP threads for this process (1 suits single queries, e.g. in a server)."""
    _faiss().omp_set_num_threads(threads)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Faiss on one thread for a while: single queries gain nothing from OpenMP's wake-ups."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class AnnIndex:
    """A loaded (or freshly built) Faiss index with its parameters and the vectors it indexes."""

    def __init__(self, faiss_index: Any, params: IndexParams, info: dict[str, Any]) -> None:
        self.faiss_index = faiss_index
        self.params = params
        self.info = info

    @property
    def kind(self) -> str:
        return self.params.kind

    def candidates(self, queries: NDArray[np.float32], n: int) -> NDArray[np.int64]:
        """Rows of ``n`` candidates per unit-length query (-1 where the index found fewer)."""
        import numpy as np

        n = max(1, min(n, int(self.faiss_index.ntotal)))
        _, rows = self.faiss_index.search(np.ascontiguousarray(queries, dtype=np.float32), n)
        return np.asarray(rows, dtype=np.int64)

    def search(
        self,
        vectors: NDArray[np.float32],
        queries: NDArray[np.float32],
        k: int,
        *,
        exclude: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
        most_excluded: int = 0,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top ``k`` rows and exact cosines per query, shortlisted by the index.

        Args:
            vectors: the model's vectors (raw, as stored); candidates are re-scored from them.
            queries: one query vector per row (any length; normalised here).
            exclude: (query row, item row) pairs never to return, e.g. the query items.
            most_excluded: the most pairs any one query has, so the shortlist is widened by it.
        """
        unit_queries = unit_rows(queries)
        rerank = self.params.rerank or 1
        rows = self.candidates(unit_queries, k * rerank + most_excluded)
        return rescore(vectors, unit_queries, rows, k, exclude=exclude)

    def answer(
        self,
        embeddings: Embeddings,
        labels: list[str],
        queries: NDArray[np.float32],
        exclude: list[set[int]],
        k: int,
    ) -> list[Neighbour]:
        """Embeddings' search hook: the same answers as exact search, from the index."""
        import numpy as np

        out: list[Neighbour] = []
        for start in range(0, len(labels), _BATCH):
            block = exclude[start : start + _BATCH]
            pairs = np.array([(q, r) for q, rows in enumerate(block) for r in rows], dtype=np.int64).reshape(
                -1, 2
            )
            most = max((len(e) for e in block), default=0)
            rows, scores = self.search(
                embeddings.vectors,
                queries[start : start + _BATCH],
                k,
                exclude=(pairs[:, 0], pairs[:, 1]),
                most_excluded=most,
            )
            out.extend(neighbours(embeddings, labels[start : start + _BATCH], rows, scores))
        return out


# --- building and storing ------------------------------------------------------------------------


def build(
    embeddings: Embeddings, params: IndexParams, *, output: NDArray[np.float32] | None = None
) -> AnnIndex:
    """Build an index of ``params.kind`` over the model's unit-length vectors (not stored).

    With ``output`` (the output vectors, rows as the model's), the index holds those instead.
    """
    import numpy as np

    faiss = _faiss()
    params = params.resolved(len(embeddings), embeddings.dim)
    started = time.perf_counter()
    index = _empty_index(faiss, params, embeddings.dim)
    vectors = embeddings.vectors if output is None else output
    if not index.is_trained:
        rng = np.random.default_rng(params.seed)
        take = min(len(embeddings), _TRAIN_SAMPLE)
        rows = np.sort(rng.choice(len(embeddings), size=take, replace=False))
        index.train(unit_rows(np.asarray(vectors[rows])))
    for start in range(0, len(embeddings), _CHUNK):
        index.add(unit_rows(np.asarray(vectors[start : start + _CHUNK])))
    _set_search_params(index, params)
    info = {
        "format_version": INDEX_FORMAT,
        "vectors": "input" if output is None else "output",
        "kind": params.kind,
        "params": params.recorded(),
        "items": len(embeddings),
        "dim": embeddings.dim,
        "model_created": embeddings.meta.get("created"),
        "build_seconds": round(time.perf_counter() - started, 3),
        "faiss": str(faiss.__version__),
    }
    return AnnIndex(index, params, info)


def _empty_index(faiss: Any, params: IndexParams, dim: int) -> Any:
    if params.kind == "flat":
        return faiss.IndexFlatIP(dim)
    if params.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        return index
    if params.kind == "lsh":
        return faiss.IndexLSH(dim, params.bits, True, True)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, params.lists, params.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
    for clustering in (index.cp, index.pq.cp):
        clustering.seed = params.seed
        clustering.min_points_per_centroid = 1  # small models: no "provide more points" warnings
    return index


def _set_search_params(index: Any, params: IndexParams) -> None:
    if params.kind == "hnsw":
        index.hnsw.efSearch = params.ef_search
    elif params.kind == "ivfpq":
        index.nprobe = min(params.probes, int(params.lists or 1))


def store(index: AnnIndex, path: Path) -> int:
    """Write ``index.faiss`` and ``index.json`` (``index-next.*`` for output vectors) into the
    model directory; returns the file size.

    Both are written beside their final names and renamed into place together (or neither).
    """
    faiss = _faiss()
    index_file, params_file = FILES[index.info.get("vectors", "input")]

    def write_index(tmp: Path) -> None:
        try:
            faiss.write_index(index.faiss_index, str(tmp))
        except RuntimeError as exc:  # faiss reports a failed write in the message only
            if os.strerror(errno.ENOSPC) not in str(exc):
                raise
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from None
        index.info["bytes"] = tmp.stat().st_size

    def write_params(tmp: Path) -> None:
        tmp.write_text(json.dumps(index.info, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    atomic_files({path / index_file: write_index, path / params_file: write_params})
    return int(index.info["bytes"])


def load_index(path: Path | str, embeddings: Embeddings, *, vectors: str = "input") -> AnnIndex:
    """Read the model's stored index (memory-mapped, read-only); check it fits ``embeddings``.

    ``vectors="output"`` reads the index of the output vectors (the ``next`` score).

    Raises:
        ModelError: there is no index, it is corrupt, or it was built for another model.
        MissingDependencyError: faiss-cpu is not installed.
    """
    path = Path(path)
    index_file, params_file = FILES[vectors]
    if not (path / params_file).is_file() or not (path / index_file).is_file():
        what = (
            "no index"
            if vectors == "input"
            else f"no index of its output vectors (for {param('score', Bare('next'))})"
        )
        raise ModelError(
            f"model {str(path)!r} has {what}: build one with 'item2vec index {path} --kind hnsw' "
            f"(or drop {param('approx', True)})"
        )
    faiss = _faiss()
    try:
        info = json.loads((path / params_file).read_text(encoding="utf-8"))
        params = IndexParams(kind=info["kind"], **info["params"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ModelError(f"index of {str(path)!r} is corrupt ({params_file}: {exc}): rebuild it") from None
    _check_fits(path, info, embeddings, index_file)
    try:
        # Zero-copy mapping where faiss has it (1.13+): a 750 MB HNSW index opens in 0.1 s, not 5.
        flags = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP) | faiss.IO_FLAG_READ_ONLY
        index = faiss.read_index(str(path / index_file), flags)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise ModelError(f"index of {str(path)!r} is corrupt ({first}): rebuild it") from None
    _set_search_params(index, params)
    return AnnIndex(index, params, info)


def _check_fits(path: Path, info: dict[str, Any], embeddings: Embeddings, index_file: str) -> None:
    stale = (
        info.get("items") != len(embeddings)
        or info.get("dim") != embeddings.dim
        or info.get("model_created") != embeddings.meta.get("created")
        or info.get("bytes") != (path / index_file).stat().st_size
    )
    if stale:
        raise ModelError(
            f"the index in {str(path)!r} was built for another version of the model "
            f"({info.get('items')} items x {info.get('dim')}, model created {info.get('model_created')}): "
            f"rebuild it with 'item2vec index {path} --kind {info.get('kind', 'hnsw')}'"
        )
