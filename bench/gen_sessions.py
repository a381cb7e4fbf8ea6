"""Generate a click/view session log with repeat visits and planted structure (seeded).

What a shop's click log looks like to a recall layer, with known structure in it:

- Items fall into clusters (categories) of unequal size and popularity; inside a cluster,
  popularity is Zipf-like, so a few items draw most views.
- A session browses one cluster, sometimes two (it switches to the second now and then).
- Planted paths: every item has one or two "next" items, mostly in its own cluster (a product
  and its accessory, a listing and its detail page); a session follows the last item's path
  about a third of the time.
- Repeat visits: a tenth of the steps go back on purpose to an item the session already viewed
  (recent and often-viewed items more likely), as people compare products and go back to the
  cart; with popular items drawn again and paths that lead back, about a third of next items
  (after consecutive repeats are dropped) are already in the session, as in public click logs
  (25–40%). A few reloads (the same item twice in a row) are left for the reader to drop.
- Sessions have 2–30 events (geometric, mean about 7); users have a favourite cluster that
  their sessions often start in. Times are epoch seconds with gaps of tens of seconds.

Written as CSV with columns ``session_id,user_id,item_id,timestamp`` (``.gz`` compresses), in
session order. Ids are strings like ``s0000123``, ``u012345``, ``i04567``.

Usage::

    python bench/gen_sessions.py OUT.csv [--sessions 80000] [--items 8000] [--clusters 80] [--seed 1]

It prints the events, sessions, items and the share of next items already in the session.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REVISIT = 0.10  # a step goes back to an item already viewed in the session
FOLLOW = 0.30  # a step follows the last item's planted path
SWITCH = 0.2  # a step of a two-cluster session draws from the other cluster
RELOAD = 0.05  # the same item again at once (dropped as a consecutive repeat)
SECOND_CLUSTER = 0.35  # a session browses a second cluster
HOME = 0.5  # a session starts in its user's favourite cluster
START = 1_704_067_200  # 2024-01-01 UTC


@dataclass(frozen=True)
class Catalogue:
    """Items by cluster with their popularity, and each item's planted next items."""

    members: list[NDArray[np.int64]]  # item ids of each cluster
    cumulative: list[NDArray[np.float64]]  # cumulative popularity inside each cluster
    cluster_cum: NDArray[np.float64]  # cumulative popularity of the clusters
    cluster_of: NDArray[np.int64]
    paths: NDArray[np.int64]  # items x 2: next items (the second may repeat the first)


def catalogue(rng: np.random.Generator, items: int, clusters: int) -> Catalogue:
    """Clusters of unequal size, Zipf popularity inside each and across them, planted paths."""
    sizes = rng.dirichlet(np.full(clusters, 2.0)) * (items - 2 * clusters) + 2
    sizes = np.maximum(2, np.round(sizes)).astype(np.int64)
    sizes[-1] = max(2, items - int(sizes[:-1].sum()))
    order = rng.permutation(int(sizes.sum()))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    members = [order[bounds[c] : bounds[c + 1]] for c in range(clusters)]
    cluster_of = np.empty(len(order), dtype=np.int64)
    cumulative = []
    for c, ids in enumerate(members):
        cluster_of[ids] = c
        weights = 1.0 / np.arange(1, len(ids) + 1) ** 1.05
        cumulative.append(np.cumsum(weights) / weights.sum())
    cluster_weights = rng.permutation(1.0 / np.arange(1, clusters + 1) ** 0.8)
    paths = np.empty((len(order), 2), dtype=np.int64)
    for item in range(len(order)):
        for j in range(2):
            c = cluster_of[item] if rng.random() < 0.9 else int(rng.integers(clusters))
            k = int(np.searchsorted(cumulative[c], rng.random() ** 1.5))
            pick = members[c][k]
            paths[item, j] = pick if pick != item else members[c][(k + 1) % len(members[c])]
    single = rng.random(len(order)) < 0.5  # half the items have one next item
    paths[single, 1] = paths[single, 0]
    return Catalogue(
        members,
        cumulative,
        np.cumsum(cluster_weights) / cluster_weights.sum(),
        cluster_of,
        paths,
    )


def draw(cat: Catalogue, cluster: int, u: float) -> int:
    """An item of ``cluster`` by popularity (``u`` uniform in [0, 1))."""
    return int(cat.members[cluster][int(np.searchsorted(cat.cumulative[cluster], u))])


def revisit(session: list[int], u: float) -> int | None:
    """An item viewed earlier in the session, not the last one: recent and frequent more likely."""
    last = session[-1]
    weights: dict[int, float] = {}
    for age, item in enumerate(reversed(session)):
        if item != last:
            weights[item] = weights.get(item, 0.0) + 0.6**age
    if not weights:
        return None
    keys = list(weights)
    cum = np.cumsum([weights[k] for k in keys])
    return keys[int(np.searchsorted(cum, u * cum[-1]))]


def session_items(rng: np.random.Generator, cat: Catalogue, home: int, length: int) -> list[int]:
    """One session's items (reloads included)."""
    first = home if rng.random() < HOME else int(np.searchsorted(cat.cluster_cum, rng.random()))
    second = int(np.searchsorted(cat.cluster_cum, rng.random())) if rng.random() < SECOND_CLUSTER else first
    u = rng.random((length, 3))
    items = [draw(cat, first, u[0, 0])]
    seen = [items[0]]  # without reloads
    for step in range(1, length):
        r, a, b = u[step]
        item: int | None = None
        if r < RELOAD:
            item = items[-1]
        elif r < RELOAD + REVISIT:
            item = revisit(seen, a)
        elif r < RELOAD + REVISIT + FOLLOW:
            item = int(cat.paths[seen[-1], int(a < 0.5)])
        if item is None or (item == seen[-1] and r >= RELOAD):
            cluster = second if a < SWITCH else first
            item = draw(cat, cluster, b)
        items.append(item)
        if item != seen[-1]:
            seen.append(item)
    return items


def generate(
    out: Path, *, sessions: int = 80_000, items: int = 8_000, clusters: int = 80, seed: int = 1
) -> dict[str, float]:
    """Write the log to ``out``; its counts and the share of next items already in the session."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    cat = catalogue(rng, items, clusters)
    users = max(1, sessions // 4)
    favourite = np.searchsorted(cat.cluster_cum, rng.random(users))
    owner = rng.integers(0, users, size=sessions)
    lengths = np.minimum(30, 2 + rng.geometric(0.18, size=sessions) - 1)
    starts = np.sort(rng.integers(START, START + 60 * 86_400, size=sessions))
    rows_s, rows_u, rows_i, rows_t = [], [], [], []
    repeats = steps = 0
    for s in range(sessions):
        seq = session_items(rng, cat, int(favourite[owner[s]]), int(lengths[s]))
        gaps = 1 + rng.exponential(40.0, size=len(seq)).astype(np.int64)
        times = starts[s] + np.cumsum(gaps) - gaps[0]
        rows_s += [s] * len(seq)
        rows_u += [int(owner[s])] * len(seq)
        rows_i += seq
        rows_t += times.tolist()
        kept = [x for j, x in enumerate(seq) if j == 0 or x != seq[j - 1]]
        for j in range(1, len(kept)):
            steps += 1
            repeats += kept[j] in kept[:j]
    frame = pd.DataFrame(
        {
            "session_id": [f"s{s:07d}" for s in rows_s],
            "user_id": [f"u{u:06d}" for u in rows_u],
            "item_id": [f"i{i:05d}" for i in rows_i],
            "timestamp": rows_t,
        }
    )
    frame.to_csv(out, index=False)
    return {
        "events": len(frame),
        "sessions": sessions,
        "items": int(frame["item_id"].nunique()),
        "repeat_share": repeats / max(1, steps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sessions", type=int, default=80_000)
    parser.add_argument("--items", type=int, default=8_000)
    parser.add_argument("--clusters", type=int, default=80)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = generate(
        args.out, sessions=args.sessions, items=args.items, clusters=args.clusters, seed=args.seed
    )
    print(
        f"{counts['events']:,} events, {counts['sessions']:,} sessions, {counts['items']:,} items; "
        f"{counts['repeat_share']:.1%} of next items already in the session (consecutive repeats dropped)"
    )


if __name__ == "__main__":
    main()
