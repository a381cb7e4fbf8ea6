#!/usr/bin/env python3
"""Regenerate the files in sample_data/ from the full data sets in ../shared/data.

Usage (from anywhere; paths are resolved relative to this file):

    python sample_data/make_samples.py                  # write all three files
    python sample_data/make_samples.py --data DIR       # full data somewhere else

Inputs (relative to the repository root ``<repo>``):

    <repo>/../shared/data/online_retail/online_retail.csv.gz   UCI Online Retail, CC BY 4.0
    <repo>/../shared/data/gutenberg/corpus.txt.gz              public-domain English text

Outputs (in this directory):

    online_retail.csv.gz  every transaction line dated 2011-09-01 or later (the last 100 days
                          of the log, up to 2011-12-09), all columns except Description;
                          cancellations and rows without CustomerID are kept; CustomerID is
                          written without the float suffix (17850.0 -> 17850).
    products.csv          StockCode,Description: one row per stock code in that subset, with
                          the description written most often for it in the subset (for the
                          few codes whose subset rows have no description: the most frequent
                          one in the full log); surrounding spaces are trimmed.
    text.txt.gz           a random TEXT_FRACTION of the corpus lines (seed TEXT_SEED), kept in
                          their original order, one paragraph per line.

Everything is deterministic: fixed seeds, stable sorts, and gzip with mtime=0 and no file
name in the header, so the same inputs give byte-identical outputs.  Needs pandas and numpy.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"

RETAIL_START = "2011-09-01"   # keep rows with InvoiceDate >= this (to the end, 2011-12-09)
RETAIL_COLUMNS = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice",
                  "CustomerID", "Country"]

TEXT_FRACTION = 0.15          # share of corpus lines kept
TEXT_SEED = 20240601          # seed of the line sample


def write_gzip(path: Path, data: bytes) -> None:
    """Write ``data`` gzip-compressed with a fixed header (mtime=0, no name)."""
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                           compresslevel=9) as gz:
            gz.write(data)


def most_frequent_description(df: pd.DataFrame) -> pd.DataFrame:
    """StockCode -> its most frequent non-empty Description (ties: first seen)."""
    d = df[["StockCode", "Description"]].copy()
    d["order"] = np.arange(len(d))
    d = d[d["Description"].str.strip() != ""]
    counts = (d.groupby(["StockCode", "Description"], sort=False)
               .agg(n=("order", "size"), first=("order", "min"))
               .reset_index()
               .sort_values(["StockCode", "n", "first"], ascending=[True, False, True],
                            kind="mergesort"))
    return counts.drop_duplicates("StockCode")[["StockCode", "Description"]]


def make_retail(data_dir: Path, out_dir: Path) -> pd.DataFrame:
    src = data_dir / "online_retail" / "online_retail.csv.gz"
    # Read everything as strings so ids and numbers stay exactly as written.
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    sub = df[df["InvoiceDate"] >= RETAIL_START].copy()
    # 17850.0 -> 17850 (still a string); empty CustomerID stays empty.
    sub["CustomerID"] = sub["CustomerID"].str.replace(r"\.0$", "", regex=True)

    buf = io.StringIO()
    sub[RETAIL_COLUMNS].to_csv(buf, index=False, lineterminator="\n")
    write_gzip(out_dir / "online_retail.csv.gz", buf.getvalue().encode("utf-8"))

    # Most frequent non-empty description per stock code in the subset (ties: the one seen
    # first); codes whose subset rows all lack a description take the full log's choice.
    best = most_frequent_description(sub)
    fallback = most_frequent_description(df).rename(columns={"Description": "full"})
    codes = pd.DataFrame({"StockCode": sorted(sub["StockCode"].unique())})
    products = codes.merge(best, on="StockCode", how="left").merge(fallback, on="StockCode",
                                                                    how="left")
    products["Description"] = products["Description"].fillna(products["full"]).fillna("")
    products = products[["StockCode", "Description"]]
    products["Description"] = products["Description"].str.strip()
    products.to_csv(out_dir / "products.csv", index=False, lineterminator="\n",
                    quoting=csv.QUOTE_MINIMAL)
    return sub


def sample_text_lines(data_dir: Path, fraction: float = TEXT_FRACTION,
                      seed: int = TEXT_SEED) -> list[str]:
    """Return round(fraction * n) corpus lines chosen at random, in corpus order."""
    src = data_dir / "gutenberg" / "corpus.txt.gz"
    with gzip.open(src, "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    rng = np.random.default_rng(seed)
    k = int(round(fraction * len(lines)))
    keep = np.sort(rng.choice(len(lines), size=k, replace=False))
    return [lines[i] for i in keep]


def make_text(data_dir: Path, out_dir: Path, fraction: float = TEXT_FRACTION,
              seed: int = TEXT_SEED) -> list[str]:
    kept = sample_text_lines(data_dir, fraction, seed)
    write_gzip(out_dir / "text.txt.gz", ("\n".join(kept) + "\n").encode("utf-8"))
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help=f"folder with online_retail/ and gutenberg/ (default {DEFAULT_DATA})")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    sub = make_retail(args.data, args.out)
    print(f"online_retail.csv.gz: {len(sub)} rows, {sub['InvoiceNo'].nunique()} invoices, "
          f"{sub.loc[sub['CustomerID'] != '', 'CustomerID'].nunique()} customers, "
          f"{sub['StockCode'].nunique()} stock codes")
    kept = make_text(args.data, args.out)
    print(f"text.txt.gz: {len(kept)} lines, {sum(len(s.split()) for s in kept)} words")


if __name__ == "__main__":
    main()
