"""Load test of `item2vec serve` against a minimal FastAPI app on the same vectors: requests/s
and p50/p99 latency of GET /similar?k=10 and POST /recommend with keep-alive clients.

    python bench/serve_load.py MODEL                 # 2 keep-alive clients, 10 s or 20,000 requests, 3 rounds
    python bench/serve_load.py MODEL --seconds 5 --requests 5000 --clients 8

Each server runs as a subprocess on 127.0.0.1 (a free port; loopback only): ``item2vec serve``
exact, ``--approx`` when the model has an index (item2vec index MODEL), and the peer, a minimal
FastAPI app run by uvicorn that loads the same files and does the same job with numpy: /similar a
cosine dot (argpartition, then a sort of the k best); /recommend the decayed mean of the last 5
items' unit vectors and, where the model's scoring record (model.json) asks for ``hybrid``, the
same hybrid (the base cosine standardised over the catalogue, plus weight · log1p of the history's
decayed transition counts), the history left out. Where the model's default is not hybrid, both
are asked for ``score: similar``. Both log one access line per request (to /dev/null): the floor
a Python service on these vectors can reach. After /health answers and a short warm-up, keep-alive
clients (threads, stdlib http.client) ask for random items' neighbours, or recommendations for
random histories of 5 items, until the time or the request budget runs out. The clients share
the machine with the server, so on a small machine the figures are a floor; the server's CPU
time per request (from /proc) is the steadier figure on a busy machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"
HISTORY = 5
budget_lock = threading.Lock()
RECOMMEND_SCORE: str | None = None  # "similar" where the model's default is not hybrid (main sets it)

MINIMAL_APP = """
import json
import sys
import numpy as np
import uvicorn
from fastapi import Body, FastAPI

model, port = sys.argv[1], int(sys.argv[2])
vectors = np.load(f"{model}/vectors.npy")
with open(f"{model}/vocab.tsv", encoding="utf-8") as handle:
    next(handle)
    ids = [line.split("\\t", 1)[0] for line in handle]
row = {item: i for i, item in enumerate(ids)}


def unit_of(matrix):
    return (matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)).astype(np.float32)


unit = unit_of(vectors)
with open(f"{model}/model.json", encoding="utf-8") as handle:
    record = json.load(handle).get("scoring") or {}
hybrid = record.get("score") == "hybrid"
if hybrid:  # the model's default: the base cosine standardised over the catalogue + weight * log1p(transitions)
    import scipy.sparse as sp

    weight = float(record["hybrid_weight"])
    base = unit if record.get("hybrid_base", "similar") == "similar" else unit_of(np.load(f"{model}/syn1neg.npy"))
    mu, second = base.astype(np.float64).mean(axis=0), base.T.astype(np.float64) @ base.astype(np.float64) / len(base)
    parts = np.load(f"{model}/transitions.npz")
    transitions = sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]), shape=tuple(parts["shape"]))
app = FastAPI()


def top(scores, k, exclude):
    scores[list(exclude)] = -np.inf
    best = np.argpartition(-scores, k)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [{"rank": r, "item": ids[b], "score": round(float(scores[b]), 6)} for r, b in enumerate(best, 1)]


@app.get("/health")
def health():
    return {"status": "ok", "items": len(ids), "hybrid": hybrid}


@app.get("/similar")
def similar(item: str, k: int = 10):
    return {"query": item, "results": top(unit @ unit[row[item]], k, {row[item]})}


@app.post("/recommend")
def recommend(body: dict = Body(...)):
    rows = [row[i] for i in body["history"] if i in row][-5:]
    decay = 0.7 ** np.arange(len(rows) - 1, -1, -1)
    query = (decay[:, None] * unit[rows]).sum(axis=0)
    query = (query / np.linalg.norm(query)).astype(np.float32)
    if not hybrid or body.get("score") == "similar":
        return {"used": body["history"], "results": top(unit @ query, body.get("k", 10), set(rows))}
    mean = float(query @ mu)
    std = np.sqrt(max(float(query @ second @ query) - mean**2, 1e-12))
    scores = (base @ query - mean) / std
    counts = sp.csr_matrix(decay.astype(np.float32)[None, :]) @ transitions[rows]
    scores[counts.indices] += (weight * np.log1p(counts.data)).astype(np.float32)
    return {"used": body["history"], "results": top(scores, body.get("k", 10), set(rows))}


uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")  # as serve: one access-log line a request
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, server: subprocess.Popen[bytes], timeout: float = 120.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/health")
            body = json.loads(connection.getresponse().read())
            connection.close()
            return dict(body)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health within {timeout:.0f} s")


def ask(endpoint: str, rng: random.Random, ids: list[str], k: int) -> tuple[str, str, bytes | None]:
    """(method, path, body) of one request to ``endpoint``."""
    if endpoint == "similar":
        return "GET", "/similar?" + urllib.parse.urlencode({"item": rng.choice(ids), "k": k}), None
    request: dict[str, object] = {"history": rng.sample(ids, HISTORY), "k": k}
    if RECOMMEND_SCORE is not None:
        request["score"] = RECOMMEND_SCORE
    return "POST", "/recommend", json.dumps(request).encode()


def client(port: int, endpoint: str, ids: list[str], k: int, stop: threading.Event, budget: list[int],
           out: list[float]) -> None:  # fmt: skip
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    rng = random.Random(threading.get_ident())
    headers = {"content-type": "application/json"}
    while not stop.is_set():
        with budget_lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        method, path, body = ask(endpoint, rng, ids, k)
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{method} {path}: HTTP {response.status}")
        out.append((time.perf_counter() - started) * 1000)


def load(
    port: int, endpoint: str, ids: list[str], *, clients: int, seconds: float, requests: int, k: int
) -> dict[str, float]:
    stop = threading.Event()
    budget = [requests]
    latencies: list[float] = []
    threads = [
        threading.Thread(target=client, args=(port, endpoint, ids, k, stop, budget, latencies), daemon=True)
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, seconds - (time.perf_counter() - started)))
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far (Linux /proc): what the server
    spends per request, which a busy shared machine does not inflate as it does latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    server: str, model: Path, args: argparse.Namespace, ids: list[str]
) -> dict[str, dict[str, float]]:
    """req/s and latencies of each endpoint on ``server`` (item2vec, item2vec --approx, minimal)."""
    port = free_port()
    if server == "minimal":
        command = [sys.executable, "-c", MINIMAL_APP, str(model), str(port)]
    else:
        command = [sys.executable, "-m", "item2vec", "serve", str(model), "--host", HOST, "--port", str(port)]
        command += ["--approx"] if server.endswith("--approx") else []
    env = {
        **os.environ,
        **{name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_healthy(port, process)
        results = {}
        for endpoint in ("similar", "recommend"):
            load(
                port, endpoint, ids[:50], clients=args.clients, seconds=1.0, requests=200, k=args.k
            )  # warm up
            before = cpu_seconds(process.pid)
            results[endpoint] = load(port, endpoint, ids, clients=args.clients, seconds=args.seconds,
                                     requests=args.requests, k=args.k)  # fmt: skip
            spent = cpu_seconds(process.pid) - before
            results[endpoint]["cpu"] = spent * 1000 / max(1, results[endpoint]["requests"])
        return results
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0, help="longest run per server and endpoint")
    parser.add_argument("--requests", type=int, default=20_000, help="most requests per server and endpoint")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="the servers take turns; medians of the rounds")
    args = parser.parse_args()
    with open(args.model / "vocab.tsv", encoding="utf-8") as handle:
        next(handle)
        ids = [line.split("\t", 1)[0] for line in handle]
    record = json.loads((args.model / "model.json").read_text(encoding="utf-8")).get("scoring") or {}
    global RECOMMEND_SCORE
    RECOMMEND_SCORE = None if record.get("score") == "hybrid" else "similar"
    random.Random(0).shuffle(ids)
    ids = ids[:10_000]
    servers = ["minimal", "item2vec serve"]
    servers += ["item2vec serve --approx"] if (args.model / "index.faiss").exists() else []
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.rounds):  # in turns, so that a busy spell on a shared machine hits every server
        for server in servers:
            for endpoint, r in measure(server, args.model, args, ids).items():
                runs.setdefault((server, endpoint), []).append(r)
    print(f"# {args.model}: GET /similar?k={args.k} and POST /recommend (histories of {HISTORY}), "
          f"{args.clients} keep-alive clients, at most {args.seconds:.0f} s or {args.requests:,} requests each, "
          f"medians of {args.rounds} rounds")  # fmt: skip
    print("| server | endpoint | requests | req/s | p50 ms | p99 ms | req/s vs minimal | server CPU ms/request "
          "| CPU vs minimal |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    median = {key: {m: statistics.median(r[m] for r in rs) for m in rs[0]} for key, rs in runs.items()}
    for (server, endpoint), r in median.items():
        floor = median[("minimal", endpoint)]
        print(f"| {server} | {endpoint} | {r['requests']:,.0f} | {r['rps']:,.0f} | {r['p50']:.2f} "
              f"| {r['p99']:.2f} | {r['rps'] / floor['rps']:.2f} | {r['cpu']:.2f} | {r['cpu'] / floor['cpu']:.2f} |",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
