"""Walk generation speed: item2vec's vectorised numpy walker against PecanPy and csrgraph.

The graph is synthetic and seeded: 100,000 items and 2,000,000 distinct directed edges whose
ends are drawn from a skewed (Zipf-like) item popularity, as in real transition graphs; an edge
drawn k times has weight k. Every walker makes ``--walks-per-node`` walks of ``--walk-length``
items from every node (1,000,000 walks of 40 items by default), first-order (DeepWalk) and
node2vec with p=0.5, q=2. Timings are of walk generation into integer arrays (the conversion to
item-id strings is the same for all and timed once, for item2vec); numba's compile time is
reported apart (a first call on a tiny graph). Libraries that are not installed are skipped.

PecanPy 2.0.9 pins numpy < 2 (through nptyping), so it cannot share item2vec's environment;
measure it in a separate one:

  python3 -m venv /tmp/walkbench && /tmp/walkbench/bin/pip install pecanpy==2.0.9 csrgraph==0.1.28
  PYTHONPATH=. nice /tmp/walkbench/bin/python bench/walks.py --threads 1 2
  nice .venv/bin/python bench/walks.py          # item2vec's walker with the project's numpy
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from item2vec.training.walks import ItemGraph, WalkOptions, walk_codes


def synthetic_graph(nodes: int, edges: int, seed: int) -> ItemGraph:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / (np.arange(nodes) + 10.0) ** 0.8
    popularity /= popularity.sum()
    src = np.empty(0, dtype=np.int64)
    dst = np.empty(0, dtype=np.int64)
    while len(np.unique(src * nodes + dst)) < edges:
        extra = edges
        src = np.concatenate([src, rng.choice(nodes, extra, p=popularity)])
        dst = np.concatenate([dst, rng.permutation(nodes).repeat(extra // nodes + 1)[:extra]])
        keep = src != dst
        src, dst = src[keep], dst[keep]
    keys = src * nodes + dst
    distinct = rng.permutation(np.unique(keys))[:edges]
    chosen = np.isin(keys, distinct)
    return ItemGraph.from_edges(nodes, src[chosen], dst[chosen])


def timed(label: str, walks: int, length: int, run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    print(
        f"| {label} | {seconds:.2f} | {walks / seconds:,.0f} | {walks * (length - 1) / seconds / 1e6:.2f} |",
        flush=True,
    )
    return seconds


def item2vec_runs(graph: ItemGraph, args: argparse.Namespace, walks: int) -> None:
    for method, p, q in (("deepwalk", 1.0, 1.0), ("node2vec", args.p, args.q)):
        options = WalkOptions(
            method=method, walks_per_node=args.walks_per_node, walk_length=args.walk_length, p=p, q=q
        )  # type: ignore[arg-type]
        timed(
            f"item2vec numpy, {method}",
            walks,
            args.walk_length,
            lambda o=options: list(walk_codes(graph, o, seed=1)),
        )
    names = np.asarray(graph.ids, dtype=object)
    options = WalkOptions(walks_per_node=args.walks_per_node, walk_length=args.walk_length)

    def with_strings() -> None:
        for chunk in walk_codes(graph, options, seed=1):
            lengths = (chunk >= 0).sum(axis=1)
            _ = [names[row[:size]].tolist() for row, size in zip(chunk, lengths.tolist())]

    timed("item2vec numpy, deepwalk + item-id strings", walks, args.walk_length, with_strings)


def pecanpy_runs(graph: ItemGraph, args: argparse.Namespace, walks: int, threads: int) -> None:
    import numba
    from numba_progress import ProgressBar
    from pecanpy import pecanpy

    numba.set_num_threads(threads)

    def build(mode: str, p: float, q: float, g: ItemGraph) -> Any:
        walker = getattr(pecanpy, mode)(p=p, q=q, workers=threads, random_state=1)
        walker.set_node_ids(g.ids)
        walker.indptr = g.indptr.astype(np.uint32)
        walker.indices = g.indices.astype(np.uint32)
        walker.data = g.weights.astype(np.float32)
        walker._preprocess_transition_probs()
        # numba freezes the arrays a closure captures: each walker compiles its own move_forward.
        walker.compiled = (walker.get_has_nbrs(), walker.get_move_forward())
        return walker

    def run(walker: Any, starts: np.ndarray[Any, Any]) -> Any:
        with ProgressBar(total=len(starts), disable=True) as progress:
            return walker._random_walks(
                len(starts), args.walk_length - 1, 1, starts, *walker.compiled, progress
            )

    # SparseOTF computes node2vec's transition row on the fly; PreCompFirstOrder draws DeepWalk
    # steps from alias tables (PecanPy's recommended modes for a sparse graph this size).
    for method, mode, p, q in (
        ("deepwalk", "PreCompFirstOrder", 1.0, 1.0),
        ("node2vec", "SparseOTF", args.p, args.q),
    ):
        started = time.perf_counter()
        walker = build(mode, p, q, graph)
        run(walker, np.arange(10, dtype=np.uint32))
        print(
            f"<!-- PecanPy {mode}: set-up, alias tables and numba compile {time.perf_counter() - started:.1f} s -->",
            flush=True,
        )
        starts = np.tile(np.arange(graph.nodes, dtype=np.uint32), args.walks_per_node)
        timed(f"PecanPy {mode}, {method}, {threads} thread(s)", walks, args.walk_length,
              lambda w=walker, s=starts: run(w, s))  # fmt: skip


def csrgraph_runs(graph: ItemGraph, args: argparse.Namespace, walks: int, threads: int) -> None:
    import csrgraph
    import numba
    import scipy.sparse as sp

    numba.set_num_threads(threads)
    matrix = sp.csr_matrix(
        (graph.weights.astype(np.float32), graph.indices, graph.indptr), shape=(graph.nodes,) * 2
    )
    started = time.perf_counter()
    tiny = csrgraph.csrgraph(sp.csr_matrix(np.array([[0, 1.0], [1.0, 0]], dtype=np.float32)))
    tiny.random_walks(walklen=3, epochs=1)
    tiny.random_walks(walklen=3, epochs=1, return_weight=2.0, neighbor_weight=0.5)
    print(f"<!-- csrgraph numba compile (first call): {time.perf_counter() - started:.1f} s -->", flush=True)
    cg = csrgraph.csrgraph(matrix, threads=threads)
    for method, rw, nw in (("deepwalk", 1.0, 1.0), ("node2vec", 1 / args.p, 1 / args.q)):
        timed(f"csrgraph, {method}, {threads} thread(s)", walks, args.walk_length,
              lambda r=rw, n=nw: cg.random_walks(walklen=args.walk_length, epochs=args.walks_per_node,
                                                 return_weight=r, neighbor_weight=n))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=2_000_000)
    parser.add_argument("--walks-per-node", type=int, default=10)
    parser.add_argument("--walk-length", type=int, default=40)
    parser.add_argument("--p", type=float, default=0.5)
    parser.add_argument("--q", type=float, default=2.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    graph = synthetic_graph(args.nodes, args.edges, args.seed)
    degrees = np.diff(graph.indptr)
    print(f"<!-- graph: {graph.nodes:,} nodes, {graph.edges:,} edges, total weight {int(graph.weights.sum()):,}, "
          f"max out-degree {int(degrees.max()):,}, built in {time.perf_counter() - started:.1f} s; "
          f"numpy {np.__version__} -->")  # fmt: skip
    walks = int((degrees > 0).sum()) * args.walks_per_node
    print(f"\n{walks:,} walks of {args.walk_length} items; node2vec p={args.p:g}, q={args.q:g}\n")
    print("| walker | seconds | walks/s | M steps/s |\n|---|---|---|---|")
    item2vec_runs(graph, args, walks)
    for threads in args.threads:
        for runs in (pecanpy_runs, csrgraph_runs):
            try:
                runs(graph, args, walks, threads)
            except ImportError as exc:
                print(f"<!-- {runs.__name__}: skipped ({exc}) -->")


if __name__ == "__main__":
    main()
