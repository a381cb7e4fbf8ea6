"""`make bench`: ingestion, training and query speed against peers measured in the same run.

One table, written to docs/benchmarks.md with the machine's description. Every figure is the
median (min-max) of --runs runs in fresh processes, peers alternating order with item2vec:

* ingest: file → sessions. item2vec's streaming reader (`load_corpus`) vs pandas
  (`read_csv(dtype=str)`, stable sort by user and time, gap split, group into lists), the code a
  user would write by hand. Events/s and peak RSS.
* train: `item2vec train` end to end (process start, reading, sessionizing, training, saving)
  vs raw gensim training on the very same sessions (read into a list before the clock starts)
  and vs fastText `skipgram` from a file of the same sessions (no subwords, matched dim, window,
  epochs, negatives, min count, sampling, learning rate and threads; fastText's negative table
  is fixed at unigram^0.5 where ours uses --ns-exponent). Both stream and file corpus modes.
* query: `item2vec similar MODEL - -k 10` for 10,000 ids on stdin vs gensim's
  `KeyedVectors.most_similar` over the same ids in a loop (items/s).

Datasets: synthetic logs with planted structure (bench/gen_events.py; cached in bench/out/data)
at 1M, 10M and 50M events, and the real Online Retail log from ../shared/data.

Usage: python bench/run.py [--runs 3] [--only NAME,...] [--smoke] [--out docs/benchmarks.md]
`--smoke` runs every stage once on a tiny generated log and prints the table (the test suite
runs it); it writes no file unless --out is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from common import RETAIL, ROOT, run_measured
from common import spread as median_spread

DATA = ROOT / "bench" / "out" / "data"
BIN = Path(sys.executable).parent / "item2vec"
SESSION_FLAGS = ["--user-col", "user_id", "--item-col", "item_id", "--time-col", "ts", "--session-gap", "30m"]
RETAIL_FLAGS = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]


@dataclass
class Dataset:
    """One benchmark input and how much of the suite it gets."""

    name: str
    path: Path
    flags: list[str]
    events: int
    epochs: int
    workers: tuple[int, ...]
    runs: int
    peers: tuple[str, ...] = ("gensim", "fasttext")
    pandas: bool = True
    query: bool = True
    generate: int | None = None
    modes: tuple[str, ...] = ("stream", "file")
    train: bool = True
    shuffle: bool = False


@dataclass
class Row:
    """One line of the table: item2vec and a peer on one stage."""

    dataset: str
    stage: str
    setting: str
    peer: str
    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    ours_rss: list[float] = field(default_factory=list)
    theirs_rss: list[float] = field(default_factory=list)
    unit: str = "s"
    note: str = ""


INGEST_OURS = """
import sys, time
from item2vec.corpus.events import open_source
from item2vec.corpus.sequences import load_corpus
import numpy, pyarrow.compute, pyarrow.csv  # imported before the clock, as pandas is for its peer
from bench_session import options
started = time.perf_counter()
corpus = load_corpus([open_source(sys.argv[1])], None, options(sys.argv[2:]))
print(time.perf_counter() - started, corpus.stats.tokens)
"""

INGEST_PANDAS = """
import sys, time
import pandas as pd
from bench_session import options
o = options(sys.argv[2:])
started = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype=str, usecols=[o.user_col, o.item_col, o.time_col])
df = df.dropna()
t = pd.to_numeric(df[o.time_col], errors="coerce")
if t.isna().any():
    t = pd.to_datetime(df[o.time_col], format="ISO8601").astype("int64") / 1e9
df = df.assign(_t=t).sort_values([o.user_col, "_t"], kind="stable")
new = df[o.user_col].ne(df[o.user_col].shift())
if o.session_gap:
    new |= df["_t"].diff().gt(o.session_gap)
df = df.assign(_s=new.cumsum())
df = df[df[o.item_col].ne(df[o.item_col].shift()) | new]
sessions = df.groupby("_s", sort=False)[o.item_col].agg(list)
sessions = sessions[sessions.map(len) >= o.min_length]
print(time.perf_counter() - started, int(sessions.map(len).sum()))
"""

SESSION_HELPER = """
from item2vec.corpus.options import SessionOptions, parse_duration
def options(argv):
    pairs = dict(zip(argv[::2], argv[1::2]))
    gap = pairs.get("--session-gap")
    return SessionOptions(user_col=pairs["--user-col"], item_col=pairs["--item-col"],
                          time_col=pairs["--time-col"], session_gap=parse_duration(gap) if gap else None)
"""

SESSIONS_WRITER = """
import sys
from item2vec.corpus.events import open_source
from item2vec.corpus.sequences import load_corpus
from bench_session import options
corpus = load_corpus([open_source(sys.argv[1])], None, options(sys.argv[3:]))
with open(sys.argv[2], "w", encoding="utf-8") as handle:
    for seq in corpus.packed.lists():
        handle.write(" ".join(seq) + "\\n")
"""

GENSIM_TRAIN = """
import json, sys, time
from gensim.models import Word2Vec
params = json.loads(sys.argv[2])
with open(sys.argv[1], encoding="utf-8") as handle:
    sentences = [line.split() for line in handle]
started = time.perf_counter()
Word2Vec(sentences, sg=1, hs=0, **params)
print(time.perf_counter() - started)
"""

FASTTEXT_TRAIN = """
import json, sys, time
import fasttext
p = json.loads(sys.argv[2])
started = time.perf_counter()
fasttext.train_unsupervised(sys.argv[1], model="skipgram", dim=p["vector_size"], ws=p["window"],
    epoch=p["epochs"], minCount=p["min_count"], neg=p["negative"], t=p["sample"] or 1e-12,
    lr=p["alpha"], thread=p["workers"], minn=0, maxn=0, wordNgrams=1, loss="ns", verbose=0)
print(time.perf_counter() - started)
"""

GENSIM_QUERY = """
import sys, time
import numpy as np
from gensim.models import KeyedVectors
model, ids = sys.argv[1], open(sys.argv[2], encoding="utf-8").read().splitlines()
vectors = np.load(model + "/vectors.npy")
keys = [line.split("\\t")[0] for line in open(model + "/vocab.tsv", encoding="utf-8").read().splitlines()[1:]]
kv = KeyedVectors(vectors.shape[1], count=len(keys))
kv.add_vectors(keys, vectors)
started = time.perf_counter()
for item in ids:
    kv.most_similar(item, topn=10)
print(time.perf_counter() - started)
"""


def datasets(smoke: bool) -> list[Dataset]:
    if smoke:
        return [
            Dataset("smoke", DATA / "smoke.csv", SESSION_FLAGS, 5_000, 1, (1,), 1, generate=5_000),
        ]
    return [
        Dataset(
            "synthetic 1M", DATA / "events-1m.csv", SESSION_FLAGS, 1_000_000, 3, (1, 2), 3, generate=1_000_000
        ),
        Dataset("Online Retail", RETAIL, RETAIL_FLAGS, 541_909, 10, (2,), 3),
        Dataset(
            "synthetic 10M",
            DATA / "events-10m.csv",
            SESSION_FLAGS,
            10_000_000,
            1,
            (2,),
            1,
            generate=10_000_000,
        ),
        Dataset(
            "synthetic 10M shuffled",
            DATA / "events-10m-shuffled.csv",
            SESSION_FLAGS,
            10_000_000,
            1,
            (2,),
            1,
            train=False,
            query=False,
            generate=10_000_000,
            shuffle=True,
        ),
        Dataset(
            "synthetic 50M",
            DATA / "events-50m.csv",
            SESSION_FLAGS,
            50_000_000,
            1,
            (2,),
            1,
            peers=(),
            pandas=False,
            query=False,
            generate=50_000_000,
            modes=("stream",),
        ),
    ]


def _run(
    cmd: list[str], env: dict[str, str] | None = None, stdin: Path | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, the child's own, from wait4) and stdout of one child process."""
    run = run_measured(cmd, env, stdin)
    return run.seconds, run.peak_mb, run.stdout


def child_env(tmp: Path) -> dict[str, str]:
    (tmp / "bench_session.py").write_text(SESSION_HELPER)
    return {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def ensure(data: Dataset) -> None:
    if data.path.exists() or data.generate is None:
        return
    data.path.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating {data.path} ({data.generate:,} events)", file=sys.stderr)
    cmd = [sys.executable, str(ROOT / "bench" / "gen_events.py"), str(data.generate), str(data.path)]
    subprocess.run(cmd + (["--shuffle"] if data.shuffle else []), check=True)


def alternate(run: int, pair: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    return pair if run % 2 == 0 else pair[::-1]


def bench_ingest(data: Dataset, env: dict[str, str], runs: int) -> Row:
    row = Row(data.name, "ingest", "file → sessions", "pandas" if data.pandas else "—", unit="events/s")
    args = [str(data.path), *data.flags]
    pair = [("ours", [sys.executable, "-c", INGEST_OURS, *args])]
    if data.pandas:
        pair.append(("pandas", [sys.executable, "-c", INGEST_PANDAS, *args]))
    for run in range(runs):
        for who, cmd in alternate(run, pair):
            _, rss, out = _run(cmd, env)
            seconds, tokens = out.split()
            if who == "ours":
                row.ours.append(data.events / float(seconds))
                row.ours_rss.append(rss)
                order = "shuffled" if data.shuffle else "in user order" if data.generate else "as published"
                row.note = f"{int(tokens):,} items in sessions; input {order}"
            else:
                row.theirs.append(data.events / float(seconds))
                row.theirs_rss.append(rss)
    return row


def write_sessions(data: Dataset, env: dict[str, str], tmp: Path) -> Path:
    """The sessions item2vec trains on, one line each (the peers' input), written by a child.

    A child, so that this process stays small: Linux carries a parent's peak RSS into the
    children it starts, which would inflate every figure measured after it.
    """
    path = tmp / f"{data.name.replace(' ', '_')}.sessions"
    _run([sys.executable, "-c", SESSIONS_WRITER, str(data.path), str(path), *data.flags], env)
    return path


def bench_train(data: Dataset, env: dict[str, str], runs: int, tmp: Path, sessions: Path) -> list[Row]:
    from item2vec.training.config import TrainConfig

    rows: list[Row] = []
    for workers in data.workers:
        config = TrainConfig.from_preset("recsys", workers=workers, epochs=data.epochs)
        params = {
            "vector_size": config.dim, "window": config.window, "negative": config.negative,
            "ns_exponent": config.ns_exponent, "sample": config.sample, "epochs": config.epochs,
            "min_count": config.min_count, "alpha": config.alpha, "workers": workers, "seed": config.seed,
        }  # fmt: skip
        setting = f"recsys, {_plural(config.epochs, 'epoch')}, {_plural(workers, 'worker')}"
        peers = {
            "gensim": [sys.executable, "-c", GENSIM_TRAIN, str(sessions), json.dumps(params)],
            "fasttext": [sys.executable, "-c", FASTTEXT_TRAIN, str(sessions), json.dumps(params)],
        }
        timed = [(f"ours-{mode}", train_command(data, tmp / f"model-{mode}", workers, config.epochs, mode))
                 for mode in data.modes] + [(p, peers[p]) for p in data.peers]  # fmt: skip
        table = {
            mode: [Row(data.name, f"train ({mode})", setting, peer) for peer in data.peers or ("—",)]
            for mode in data.modes
        }
        for run in range(runs):
            for who, cmd in alternate(run, timed):
                wall, rss, out = _run(cmd, env)
                for mode, mode_rows in table.items():
                    for row in mode_rows:
                        if who == f"ours-{mode}":
                            row.ours.append(wall)
                            row.ours_rss.append(rss)
                            meta = json.loads((tmp / f"model-{mode}" / "model.json").read_text())
                            row.note = f"train only {meta['training']['train_seconds']:.1f} s"
                        elif who == row.peer:
                            row.theirs.append(float(out.strip()))
                            row.theirs_rss.append(rss)
        rows.extend(row for mode_rows in table.values() for row in mode_rows)
    return rows


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def train_command(data: Dataset, model: Path, workers: int, epochs: int, mode: str) -> list[str]:
    return [str(BIN), "train", str(data.path), *data.flags, "-o", str(model), "--force", "-q",
            "--epochs", str(epochs), "--workers", str(workers), "--corpus-mode", mode]  # fmt: skip


def bench_query(data: Dataset, env: dict[str, str], runs: int, tmp: Path) -> Row:
    import numpy as np

    model = tmp / "model-stream"
    ids = [line.split("\t")[0] for line in (model / "vocab.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    rng = np.random.default_rng(0)
    chosen = [ids[i] for i in rng.integers(0, len(ids), size=10_000)]
    id_file = tmp / "ids.txt"
    id_file.write_text("\n".join(chosen) + "\n")
    row = Row(data.name, "query", f"similar -k 10, 10,000 ids, {len(ids):,} items", "gensim", unit="items/s")
    ours = [str(BIN), "similar", str(model), "-", "-k", "10", "-f", "tsv"]
    theirs = [sys.executable, "-c", GENSIM_QUERY, str(model), str(id_file)]
    for run in range(runs):
        for who, cmd in alternate(run, [("ours", ours), ("gensim", theirs)]):
            wall, rss, out = _run(cmd, env, stdin=id_file if who == "ours" else None)
            if who == "ours":
                row.ours.append(len(chosen) / wall)
                row.ours_rss.append(rss)
            else:
                row.theirs.append(len(chosen) / float(out.strip()))
                row.theirs_rss.append(rss)
    row.note = (
        "item2vec timed end to end (process start, load, read ids, write rows); gensim timed in-loop only"
    )
    return row


def spread(values: list[float], unit: str) -> str:
    if not values:
        return "—"
    return median_spread(values, "{:,.0f}" if unit != "s" else "{:.1f}")


def ratio(row: Row) -> str:
    if not row.ours or not row.theirs:
        return "—"
    value = statistics.median(row.ours) / statistics.median(row.theirs)
    return f"{value:.2f}"


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| dataset | stage | setting | item2vec | peer | peer value | ratio | peak RSS item2vec / peer, MB | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rss_ours = f"{statistics.median(r.ours_rss):,.0f}" if r.ours_rss else "—"
        rss_theirs = f"{statistics.median(r.theirs_rss):,.0f}" if r.theirs_rss else "—"
        lines.append(
            f"| {r.dataset} | {r.stage} | {r.setting} | {spread(r.ours, r.unit)} {r.unit} | {r.peer} | "
            f"{spread(r.theirs, r.unit) if r.theirs else '—'} | {ratio(r)} | {rss_ours} / {rss_theirs} | {r.note} |"
        )
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import gensim

    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, gensim {gensim.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="runs per measurement (default: each dataset's own)")
    parser.add_argument("--only", help="comma-separated dataset names (e.g. 'synthetic 1M,Online Retail')")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--out", type=Path, default=None if "--smoke" in sys.argv else ROOT / "docs" / "benchmarks.md"
    )
    args = parser.parse_args()
    chosen = [d for d in datasets(args.smoke) if not args.only or d.name in args.only.split(",")]
    started, load_before = datetime.now(timezone.utc), os.getloadavg()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = child_env(tmp)
        for data in chosen:
            if not data.path.exists() and data.generate is None:
                print(f"skipping {data.name}: {data.path} is not here", file=sys.stderr)
                continue
            ensure(data)
            runs = args.runs or data.runs
            print(f"== {data.name}", file=sys.stderr)
            rows.append(bench_ingest(data, env, runs))
            if data.train:
                sessions = write_sessions(data, env, tmp) if data.peers else tmp / "none"
                rows.extend(bench_train(data, env, runs, tmp, sessions))
            if data.query:
                rows.append(bench_query(data, env, runs, tmp))
            print("\n".join(table(rows)), file=sys.stderr)
    report = render(rows, started, load_before, args)
    print(report)
    if args.out:
        args.out.write_text(report)


def render(
    rows: list[Row], started: datetime, load_before: tuple[float, float, float], args: argparse.Namespace
) -> str:
    load_after = os.getloadavg()
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Generated by `make bench` (`python bench/run.py`); do not edit by hand. Medians of several runs",
            "in fresh processes, (min–max) after them; ratios are item2vec ÷ peer (for seconds, lower is",
            "better for item2vec; for events/s and items/s, higher is). Stages and peers are described at",
            "the top of bench/run.py.",
            "",
            f"- Machine: {machine()}",
            f"- Run: {started:%Y-%m-%d %H:%M} UTC, load average {load_before[0]:.1f} before and "
            f"{load_after[0]:.1f} after (other work shares this machine: treat small differences as noise)",
            f"- Command: `python bench/run.py{' --runs ' + str(args.runs) if args.runs else ''}"
            f"{' --only ' + repr(args.only) if args.only else ''}`",
            "",
            *table(rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()
