"""train's calibration rule, replayed on the recall lab's per-case results (issue 13).

``bench/recall_lab.py --cases-dir DIR`` saves, for every log and world (validation, test), the
rank of each case's target under every scorer. This applies the rule of
``item2vec.evaluation.calibrate`` to the validation world — keep the default (in·out + 8·log1p
of the rules, 100 kept) unless a choice of the grid beats it by more than 3 standard errors of
the paired NDCG@10 difference with a higher HR@10 — and prints what each challenger measured
and what the chosen one scores on test, beside sequential rules.

Usage::

    python bench/calibration_rule.py --cases-dir /tmp/lab/cases [--logs ml100k,ml1m,...]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT = "in·out mc3 + 8·log1p(SR100)"
WEIGHTS = ("0.5", "1", "2", "3", "5", "8", "1000")
GRID = ["in·in mc3", "in·out mc3"] + [
    f"{e} mc3 + {w}·log1p(SR100)" for e in ("in·in", "in·out") for w in WEIGHTS
]
MARGIN = 3.0

Outcome = tuple[np.ndarray, np.ndarray]


def loader(path: Path) -> Callable[[str], Outcome]:
    z = np.load(path)
    names, pos = list(z["names"]), z["pos"].astype(int)

    def outcome(name: str) -> Outcome:
        p = pos[names.index(name)]
        ndcg = np.zeros(len(p))
        ndcg[p >= 0] = 1 / np.log2(p[p >= 0] + 2.0)
        return (p >= 0).astype(float), ndcg

    return outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases-dir", type=Path, required=True)
    ap.add_argument("--logs", default="ml100k,ml1m,retail,retail_time,invoices")
    args = ap.parse_args()
    print("| log | best challenger on validation (z, ΔHR@10) | chosen | test HR@10 / NDCG@10 | SR test |")
    print("|---|---|---|---|---|")
    for log in args.logs.split(","):
        val, test = (loader(args.cases_dir / f"{log}_{w}.npz") for w in ("val", "test"))
        base_hr, base_ndcg = val(DEFAULT)
        chosen, best, top = DEFAULT, base_ndcg.mean(), ("-", 0.0, 0.0)
        for name in GRID:
            hr, ndcg = val(name)
            diff = ndcg - base_ndcg
            if name == DEFAULT or diff.std() == 0:
                continue
            z = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)))
            if z > top[1]:
                top = (name, z, hr.mean() - base_hr.mean())
            if z > MARGIN and hr.mean() > base_hr.mean() and ndcg.mean() > best:
                chosen, best = name, ndcg.mean()
        th, tn = test(chosen)
        sh, sn = test("SR")
        print(
            f"| {log} | {top[0]} ({top[1]:+.2f}, {top[2]:+.4f}) | {chosen} | {th.mean():.4f} / {tn.mean():.4f} "
            f"| {sh.mean():.4f} / {sn.mean():.4f} |"
        )


if __name__ == "__main__":
    main()
