#!/usr/bin/env bash
# Print the README's worked example: each command, then what it printed (stdout and stderr).
# Seeded with one worker, so the neighbours and scores repeat exactly; timings vary by machine.
# Usage: bash docs/regenerate_readme_example.sh > /tmp/example.txt   (from the repository root)
# Paste the outputs into README.md's "A worked example" and "Python" sections (the README wraps
# the train command over lines and leaves out --force, which only lets this script rerun).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
OUT=${OUT:-demo-models/readme}
export PATH="$BIN:$PATH"

show() {  # echo the command as the README shows it, then run it
    local arg line='$'
    for arg in "$@"; do
        case $arg in *' '*) line+=" \"$arg\"" ;; *) line+=" $arg" ;; esac
    done
    printf '%s\n' "$line" | sed "s#$OUT#demo-models#g"
    "$@" 2>&1 | sed "s#$OUT#demo-models#g"
}

show item2vec train sample_data/online_retail.csv.gz -o "$OUT/retail" --force \
    --session-col InvoiceNo --item-col StockCode --context set \
    --items sample_data/products.csv --id-col StockCode --title-col Description \
    --seed 1 --workers 1
show item2vec similar "$OUT/retail" 85123A -k 5
show item2vec similar "$OUT/retail" --title "regency cakestand" -k 3
show item2vec recommend "$OUT/retail" --history 22423 85123A 47566 -k 5
echo '$ printf '"'"'85123A\nNOPE\n'"'"' | item2vec similar demo-models/retail - -k 2 -f jsonl --skip-unknown'
printf '85123A\nNOPE\n' | item2vec similar "$OUT/retail" - -k 2 -f jsonl --skip-unknown 2>&1
echo '== evaluate'
show item2vec split sample_data/online_retail.csv.gz -o "$OUT/split" --force \
    --user-col CustomerID --item-col StockCode --time-col InvoiceDate
show item2vec train "$OUT/split/train.csv.gz" -o "$OUT/history" --force -q \
    --user-col CustomerID --item-col StockCode --time-col InvoiceDate --seed 1 --workers 1
show item2vec evaluate "$OUT/history" "$OUT/split/test.csv.gz" --score hybrid --query history
echo '== python'
"$BIN/python" - <<'PY'
import pandas as pd
import item2vec

events = pd.read_csv("sample_data/online_retail.csv.gz", dtype=str)
model = item2vec.train(events, session="InvoiceNo", item="StockCode", context="set",
                       items="sample_data/products.csv", id_col="StockCode",
                       title_col="Description", seed=1, workers=1)
for item, score in model.similar("85123A", k=3):
    print(item, round(score, 4), model.names[item])
PY
