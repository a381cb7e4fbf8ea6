"""Why pyarrow and not DuckDB for ingestion: file → sessions of integer codes, both ways.

* pyarrow (item2vec's reader): `load_corpus` — streaming CSV batches with dictionary-coded id
  columns, numpy sort (skipped when the file is already in order) and session cuts.
* DuckDB: one SQL query does the reading, the ordering by user and time and the 30-minute gap
  split with window functions; the sorted items come back as Arrow and are dictionary-encoded.

Each engine runs in a fresh process (alternating order); reported: median (min-max) seconds
and peak RSS. Usage: python bench/ingest_engines.py FILE.csv [--runs 3] (columns user_id,
item_id, ts as written by bench/gen_events.py). Needs `pip install duckdb` (not a dependency).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from common import run_measured, spread

OURS = """
import sys, time
from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import load_corpus
started = time.perf_counter()
corpus = load_corpus([open_source(sys.argv[1])], None,
                     SessionOptions(time_col="ts", session_gap=1800, min_length=2))
print(time.perf_counter() - started, corpus.stats.tokens)
"""

DUCKDB = """
import sys, time
import numpy as np
import duckdb
import pyarrow.compute as pc
started = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"SET threads = {len(__import__('os').sched_getaffinity(0))}")
table = con.sql(f'''
    WITH e AS (
        SELECT user_id, item_id, CAST(ts AS DOUBLE) AS t, row_number() OVER () AS rn
        FROM read_csv('{sys.argv[1]}', all_varchar = true)
        WHERE user_id IS NOT NULL AND item_id IS NOT NULL AND ts IS NOT NULL
    ), g AS (
        SELECT item_id, user_id, t, rn,
               CASE WHEN t - lag(t) OVER w > 1800 OR lag(t) OVER w IS NULL THEN 1 ELSE 0 END AS fresh
        FROM e WINDOW w AS (PARTITION BY user_id ORDER BY t, rn)
    )
    SELECT item_id, fresh FROM g ORDER BY user_id, t, rn
''').arrow().read_all()
items = pc.dictionary_encode(table["item_id"].combine_chunks()).indices.to_numpy()
starts = table["fresh"].to_numpy().astype(bool)
keep = np.ones(len(items), dtype=bool)
keep[1:] = starts[1:] | (items[1:] != items[:-1])
items, starts = items[keep], starts[keep]
session = np.cumsum(starts) - 1
lengths = np.bincount(session)
tokens = int(lengths[lengths >= 2].sum())
print(time.perf_counter() - started, tokens)
"""


def run(code: str, path: str) -> tuple[float, float, int]:
    """The engine's own seconds (imports excluded), its process's peak RSS (MB) and its token count."""
    child = run_measured([sys.executable, "-c", code, path])
    seconds, tokens = child.stdout.split()
    return float(seconds), child.peak_mb, int(tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"pyarrow (item2vec)": [], "DuckDB": []}
    engines = list(zip(results, (OURS, DUCKDB)))
    for number in range(args.runs):
        for name, code in engines if number % 2 == 0 else engines[::-1]:
            results[name].append(run(code, args.path))
    print(
        f"{args.path}, {args.runs} runs, load average {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d')}"
    )
    print("| engine | seconds, median (min-max) | peak RSS, MB | items in sessions |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        secs = [r[0] for r in rows]
        print(f"| {name} | {spread(secs)} | {statistics.median(r[1] for r in rows):,.0f} | {rows[0][2]:,} |")


if __name__ == "__main__":
    main()
