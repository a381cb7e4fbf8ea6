"""Random walks on the item-transition graph (DeepWalk, node2vec) as a training corpus.

The graph has one node per item and one edge per pair of items that follow each other in some
session, weighted by how often they do (directed by default; ``directed=False`` adds every edge
both ways). It is held as CSR arrays built with numpy: the edges of node ``u`` are
``indices[indptr[u]:indptr[u + 1]]``, sorted, with integer ``weights``.

The walker is vectorised: every walker takes its step at once, one numpy pass per step, so the
Python overhead is per step, not per walker. A step draws an integer in ``[0, out-weight)`` for
each walker and finds the edge with ``searchsorted`` over the cumulative weights: exact
weighted sampling with no float rounding and no alias tables. node2vec's second-order bias
(1/p to go back, 1 to stay at distance one of the previous node, 1/q to move outward) is applied
by rejection, as PecanPy and KnightKing do: propose a first-order step, accept it with
probability bias / max bias, redraw the rejected walkers (after REJECTION_ROUNDS rejections a
walker draws from its exact biased distribution, so extreme p or q cannot stall it). "Is x a neighbour of t" is one
``searchsorted`` over the sorted edge keys ``t * n + x``. A walk that reaches an item with no
outgoing edge (directed graphs) stops there; walks shorter than two items are dropped.

All randomness comes from one ``numpy.random.Generator`` seeded with ``seed``, and walkers are
processed in fixed-size chunks, so a seed gives the same walks on every machine and run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from item2vec.errors import Bare, ConfigError, EmptyResultError, check_choice, param

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Method = Literal["deepwalk", "node2vec"]
Mix = Literal["walks", "both"]
METHODS = ("deepwalk", "node2vec")
MIXES = ("walks", "both")
CHUNK = 1 << 16  # walkers advanced together: bounds memory, fixes the order of random draws
REJECTION_ROUNDS = 32  # node2vec proposals per step before the walker draws exactly
TABLE_LIMIT = 1 << 27  # transitions up to which weighted draws use a lookup table (512 MB)


@dataclass(frozen=True)
class WalkOptions:
    """How to walk: method, walks per node, walk length, node2vec's p and q, direction, mix."""

    method: Method = "deepwalk"
    walks_per_node: int = 10
    walk_length: int = 20
    p: float = 1.0
    q: float = 1.0
    directed: bool = True
    mix: Mix = "both"

    def __post_init__(self) -> None:
        check_choice("walks", self.method, METHODS, quoted=True)
        check_choice("walks_mix", self.mix, MIXES, quoted=True)
        for name, value, low in (
            ("walks_per_node", self.walks_per_node, 1),
            ("walk_length", self.walk_length, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(param=name, value=value, expected=f"a whole number >= {low}")
        for name, bias in (("p", self.p), ("q", self.q)):
            if not bias > 0 or bias == float("inf"):
                raise ConfigError(param=name, value=bias, expected="a positive number (1 = no bias)")

    @classmethod
    def from_options(
        cls,
        method: str | None,
        *,
        walks_per_node: int | None = None,
        walk_length: int | None = None,
        p: float | None = None,
        q: float | None = None,
        undirected: bool = False,
        mix: str | None = None,
    ) -> WalkOptions | None:
        """Options as the CLI gives them (None = not given); None when ``--walks`` is not set.

        Raises:
            ConfigError: a walk option without ``--walks``, ``--p``/``--q`` without node2vec,
                or a value out of range.
        """
        given = {
            "walks_per_node": walks_per_node, "walk_length": walk_length, "p": p, "q": q,
            "undirected": undirected or None, "walks_mix": mix,
        }  # fmt: skip
        if method is None:
            named = [name for name, value in given.items() if value is not None]
            if named:
                deepwalk, node2vec = param("walks", Bare("deepwalk")), param("walks", Bare("node2vec"))
                raise ConfigError(
                    f"{param(named[0])} needs {param('walks')}: add {deepwalk} or {node2vec}",
                    param=named[0],
                    value=given[named[0]],
                    fix="choose a kind of walks",
                )
            return None
        if method != "node2vec" and (p is not None or q is not None):
            name = "p" if p is not None else "q"
            raise ConfigError(
                f"{param(name)} biases node2vec walks only: use {param('walks', Bare('node2vec'))}, "
                f"or drop {param(name)}",
                param=name,
                value=p if p is not None else q,
                fix="use node2vec walks, or drop it",
            )
        defaults = cls()
        return cls(
            method=method,  # type: ignore[arg-type]
            walks_per_node=defaults.walks_per_node if walks_per_node is None else walks_per_node,
            walk_length=defaults.walk_length if walk_length is None else walk_length,
            p=defaults.p if p is None else p,
            q=defaults.q if q is None else q,
            directed=not undirected,
            mix=defaults.mix if mix is None else mix,  # type: ignore[arg-type]
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for model.json (p and q only for node2vec)."""
        record: dict[str, Any] = {
            "method": self.method,
            "walks_per_node": self.walks_per_node,
            "walk_length": self.walk_length,
            "directed": self.directed,
            "mix": self.mix,
        }
        if self.method == "node2vec":
            record.update(p=self.p, q=self.q)
        return record


@dataclass
class ItemGraph:
    """Weighted item-transition graph in CSR form (rows sorted, no self-loops)."""

    ids: list[str]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    weights: NDArray[np.int64]
    directed: bool

    @property
    def nodes(self) -> int:
        return len(self.ids)

    @property
    def edges(self) -> int:
        return len(self.indices)

    @classmethod
    def from_edges(
        cls,
        n: int,
        src: NDArray[np.int64],
        dst: NDArray[np.int64],
        *,
        directed: bool = True,
        ids: list[str] | None = None,
    ) -> ItemGraph:
        """Sum repeated (src, dst) pairs into weights; drop self-loops; mirror when undirected."""
        import numpy as np

        keep = src != dst
        src, dst = src[keep].astype(np.int64), dst[keep].astype(np.int64)
        if not directed:
            src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
        keys, weights = np.unique(src * n + dst, return_counts=True)
        rows = keys // n
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        names = ids if ids is not None else [str(i) for i in range(n)]
        return cls(names, indptr, keys % n, weights.astype(np.int64), directed)

    def neighbours(self, node: int) -> NDArray[np.int64]:
        """Out-neighbours of ``node`` (sorted codes)."""
        return self.indices[self.indptr[node] : self.indptr[node + 1]]


def build_graph(sequences: Iterable[list[str]], *, directed: bool = True) -> ItemGraph:
    """The transition graph of ``sequences``: edge a→b weighted by how often b directly follows a.

    Items are numbered in order of first appearance. Consecutive repeats (a→a) add no edge.
    """
    import numpy as np

    index: dict[str, int] = {}
    codes: list[int] = []
    lengths: list[int] = []
    for seq in sequences:
        codes.extend(index.setdefault(item, len(index)) for item in seq)
        lengths.append(len(seq))
    flat = np.asarray(codes, dtype=np.int64)
    owner = np.repeat(np.arange(len(lengths)), np.asarray(lengths, dtype=np.int64))
    same = owner[1:] == owner[:-1]
    return ItemGraph.from_edges(
        len(index), flat[:-1][same], flat[1:][same], directed=directed, ids=list(index)
    )


class Walker:
    """Vectorised weighted random walks (first-order DeepWalk, second-order node2vec) on a graph."""

    def __init__(
        self, graph: ItemGraph, *, p: float = 1.0, q: float = 1.0, second_order: bool = False
    ) -> None:
        import numpy as np

        self.graph = graph
        self.second_order = second_order
        self.bias = (1.0 / p, 1.0, 1.0 / q)  # back to t, stay near t, move outward
        self.top = max(self.bias)
        self.low, self.high = sorted(self.bias[1:])
        self.cum = np.concatenate([[0], np.cumsum(graph.weights)]).astype(np.int64)
        self.out_weight = self.cum[graph.indptr[1:]] - self.cum[graph.indptr[:-1]]
        # Weights are counts: a row holding each neighbour once per count turns a weighted draw
        # into one uniform index (O(1), one memory access). Its size is the number of transitions,
        # the size of the corpus itself; past TABLE_LIMIT the walker binary-searches ``cum``.
        self.table: NDArray[np.int32] | None = (
            np.repeat(graph.indices, graph.weights).astype(np.int32) if self.cum[-1] <= TABLE_LIMIT else None
        )
        rows = np.repeat(np.arange(graph.nodes, dtype=np.int64), np.diff(graph.indptr))
        self.keys = rows * graph.nodes + graph.indices  # sorted: CSR rows in order, columns sorted

    def starts(self, walks_per_node: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Every node with an out-edge, ``walks_per_node`` times, each round in a fresh random order."""
        import numpy as np

        nodes = np.flatnonzero(self.out_weight > 0)
        return np.concatenate([rng.permutation(nodes) for _ in range(walks_per_node)])

    def walk(self, starts: NDArray[np.int64], length: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Walks from ``starts``: a (walkers × length) array of codes, -1 after a dead end."""
        import numpy as np

        walks = np.full((len(starts), length), -1, dtype=np.int64)
        walks[:, 0] = starts
        alive = np.flatnonzero(self.out_weight[starts] > 0)
        for step in range(1, length):
            current = walks[alive, step - 1]
            if self.second_order and step > 1:
                nxt = self._biased(walks[alive, step - 2], current, rng)
            else:
                nxt = self._step(current, rng)
            walks[alive, step] = nxt
            alive = alive[self.out_weight[nxt] > 0]
            if not len(alive):
                break
        return walks

    def _step(self, current: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.int64]:
        import numpy as np

        base = self.cum[self.graph.indptr[current]]
        target = base + rng.integers(0, self.out_weight[current])
        if self.table is not None:
            drawn: NDArray[np.int64] = self.table[target].astype(np.int64)
            return drawn
        edge = np.searchsorted(self.cum, target, side="right") - 1
        chosen: NDArray[np.int64] = self.graph.indices[edge]
        return chosen

    def _biased(
        self, previous: NDArray[np.int64], current: NDArray[np.int64], rng: np.random.Generator
    ) -> NDArray[np.int64]:
        import numpy as np

        result = np.empty(len(current), dtype=np.int64)
        pending = np.arange(len(current))
        for _ in range(REJECTION_ROUNDS):
            if not len(pending):
                return result
            prev = previous[pending]
            proposal = self._step(current[pending], rng)
            draw = rng.random(len(pending)) * self.top
            back = proposal == prev
            accept = np.where(back, draw < self.bias[0], draw < self.low)
            # Only draws between the near and the outward bias depend on whether the proposal
            # neighbours the previous node: look those up, decide the rest without the search.
            open_ = np.flatnonzero(~back & (draw >= self.low) & (draw < self.high))
            if len(open_):
                near = self.has_edge(prev[open_], proposal[open_])
                accept[open_] = draw[open_] < np.where(near, self.bias[1], self.bias[2])
            result[pending[accept]] = proposal[accept]
            pending = pending[~accept]
        if len(pending):  # walkers that kept being rejected (extreme p or q): draw exactly
            result[pending] = self._exact(previous[pending], current[pending], rng)
        return result

    def _exact(
        self, previous: NDArray[np.int64], current: NDArray[np.int64], rng: np.random.Generator
    ) -> NDArray[np.int64]:
        """Second-order steps from the full biased distribution of each walker's out-edges."""
        import numpy as np

        graph = self.graph
        degree = graph.indptr[current + 1] - graph.indptr[current]
        ends = np.cumsum(degree)
        owner = np.repeat(np.arange(len(current)), degree)
        edge = graph.indptr[current][owner] + np.arange(int(ends[-1])) - (ends - degree)[owner]
        nbr, prev = graph.indices[edge], previous[owner]
        bias = np.where(self.has_edge(prev, nbr), self.bias[1], self.bias[2])
        bias = np.where(nbr == prev, self.bias[0], bias)
        cum = np.cumsum(graph.weights[edge] * bias)
        base = np.concatenate([[0.0], cum])[ends - degree]
        target = base + rng.random(len(current)) * (cum[ends - 1] - base)
        pick = np.clip(np.searchsorted(cum, target, side="right"), ends - degree, ends - 1)
        chosen: NDArray[np.int64] = nbr[pick]
        return chosen

    def has_edge(self, src: NDArray[np.int64], dst: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether each src→dst is an edge (vectorised binary search over the edge keys)."""
        import numpy as np

        keys = src * self.graph.nodes + dst
        if not len(self.keys):
            return np.zeros(len(keys), dtype=bool)
        # Sorted needles search ~4x faster than random ones (numpy reuses the previous bound).
        order = np.argsort(keys)
        pos = np.empty(len(keys), dtype=np.int64)
        pos[order] = np.searchsorted(self.keys, keys[order])
        found: NDArray[np.bool_] = self.keys[np.minimum(pos, len(self.keys) - 1)] == keys
        return found


def walk_codes(graph: ItemGraph, options: WalkOptions, *, seed: int) -> Iterator[NDArray[np.int64]]:
    """Chunks of walks (codes; -1 after a dead end), deterministic for ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    walker = Walker(graph, p=options.p, q=options.q, second_order=options.method == "node2vec")
    starts = walker.starts(options.walks_per_node, rng)
    for begin in range(0, len(starts), CHUNK):
        yield walker.walk(starts[begin : begin + CHUNK], options.walk_length, rng)


@dataclass
class WalkCorpus:
    """The sequences to train on, and what the walks did (for model.json)."""

    sequences: list[list[str]]
    record: dict[str, Any]


def walk_corpus(sequences: Iterable[list[str]], options: WalkOptions, *, seed: int) -> WalkCorpus:
    """Build the graph of ``sequences``, walk it, and return walks (plus sessions for mix "both").

    Raises:
        EmptyResultError: no two items ever follow each other, so there is no edge to walk.
    """
    import numpy as np

    started = time.perf_counter()
    sessions = sequences if isinstance(sequences, list) else list(sequences)
    graph = build_graph(sessions, directed=options.directed)
    if not graph.edges:
        raise EmptyResultError(
            f"the item graph of {len(sessions):,} sequences has no edges (no item ever follows another): "
            f"walks need sequences of 2+ different items; train without {param('walks')}"
        )
    names = np.asarray(graph.ids, dtype=object)
    walks: list[list[str]] = []
    for chunk in walk_codes(graph, options, seed=seed):
        lengths = (chunk >= 0).sum(axis=1)
        for row, size in zip(chunk, lengths.tolist()):
            if size >= 2:
                walks.append(names[row[:size]].tolist())
    record = {
        **options.as_dict(),
        "graph_nodes": graph.nodes,
        "graph_edges": graph.edges,
        "walks": len(walks),
        "walk_items": sum(map(len, walks)),
        "walk_seconds": round(time.perf_counter() - started, 3),
    }
    corpus = walks + list(sessions) if options.mix == "both" else walks
    if options.mix == "both":
        order = np.random.default_rng(seed).permutation(len(corpus))
        corpus = [corpus[i] for i in order.tolist()]
    return WalkCorpus(corpus, record)
