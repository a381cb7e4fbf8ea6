"""Generate a synthetic event log with planted structure, cached on disk.

Items are split into clusters of 50; every user has a home cluster and draws ~90% of their
events from it (Zipf-like popularity inside the cluster), the rest from anywhere. Users' events
carry increasing epoch-second times with gaps that cross a 30-minute session gap about one time
in five. The log is written in user order (the way most exports come) or shuffled (``--shuffle``),
as CSV with columns ``user_id,item_id,ts``. Ids are strings like ``u000123`` / ``i0004567``.

Usage: python bench/gen_events.py EVENTS OUT.csv [--items N] [--users N] [--shuffle] [--seed S]
Defaults scale with EVENTS: items = EVENTS / 50, users = EVENTS / 40.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

CLUSTER = 50
CHUNK = 5_000_000


def generate(events: int, items: int, users: int, seed: int, shuffle: bool, out: Path) -> None:
    """Write the log to ``out`` (atomically) in chunks of users, bounded memory."""
    rng = np.random.default_rng(seed)
    # Events per user: geometric-ish around the mean, at least 1, summing to `events`.
    per_user = rng.gamma(1.5, events / users / 1.5, size=users)
    per_user = np.maximum(1, np.round(per_user * events / per_user.sum())).astype(np.int64)
    per_user[-1] += events - per_user.sum()
    if per_user[-1] < 1:
        per_user[-1] = 1
    clusters = max(1, items // CLUSTER)
    home = rng.integers(0, clusters, size=users)
    tmp = out.with_name(out.name + ".part")
    writer = None
    user_start = 0
    try:
        while user_start < users:
            stop = int(np.searchsorted(np.cumsum(per_user[user_start:]), CHUNK)) + user_start + 1
            stop = min(stop, users)
            table = _chunk(rng, per_user[user_start:stop], home[user_start:stop], user_start, items, shuffle)
            if writer is None:
                writer = pacsv.CSVWriter(
                    str(tmp), table.schema, write_options=pacsv.WriteOptions(quoting_style="none")
                )
            writer.write_table(table)
            user_start = stop
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out)


def _chunk(
    rng: np.random.Generator,
    counts: np.ndarray,
    home: np.ndarray,
    first_user: int,
    items: int,
    shuffle: bool,
) -> pa.Table:
    n = int(counts.sum())
    user = np.repeat(np.arange(first_user, first_user + len(counts)), counts)
    cluster = np.repeat(home, counts)
    rank = np.minimum(rng.zipf(1.6, size=n) - 1, CLUSTER - 1)
    item = cluster * CLUSTER + rank
    stray = rng.random(n) < 0.1
    item[stray] = rng.integers(0, items, size=int(stray.sum()))
    item = np.minimum(item, items - 1)
    gaps = np.where(rng.random(n) < 0.2, rng.integers(1800, 86400 * 7, n), rng.integers(5, 600, n))
    elapsed = np.cumsum(gaps)
    first = np.repeat(np.cumsum(counts) - counts, counts)  # each event's user's first event
    origin = np.repeat(rng.integers(0, 86400 * 365, len(counts)), counts)
    ts = 1_600_000_000 + origin + elapsed - elapsed[first]
    if shuffle:
        order = rng.permutation(n)
        user, item, ts = user[order], item[order], ts[order]
    return pa.table(
        {
            "user_id": pa.array(np.char.add("u", np.char.zfill(user.astype(str), 7))),
            "item_id": pa.array(np.char.add("i", np.char.zfill(item.astype(str), 7))),
            "ts": pa.array(ts),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("events", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--items", type=int)
    parser.add_argument("--users", type=int)
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    items = args.items or max(100, args.events // 50)
    users = args.users or max(10, args.events // 40)
    generate(args.events, items, users, args.seed, args.shuffle, args.out)


if __name__ == "__main__":
    main()
