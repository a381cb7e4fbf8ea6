"""Load test of `item2vec serve`: requests/s and p50/p99 latency of GET /similar, exact and --approx.

    python bench/serve_load.py MODEL                 # 10 s or 20,000 requests per mode, 8 clients
    python bench/serve_load.py MODEL --seconds 5 --requests 5000 --clients 4

Starts the server as a subprocess on 127.0.0.1 (a free port; loopback only), waits for
/health, then runs keep-alive clients (threads, stdlib http.client) asking for random items'
neighbours until the time or the request budget runs out, whichever is first. --approx is
measured only when the model has an index (item2vec index MODEL). The clients share the
machine with the server, so on a small machine the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"
budget_lock = threading.Lock()


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


def client(
    port: int, ids: list[str], k: int, stop: threading.Event, budget: list[int], out: list[float]
) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    rng = random.Random(threading.get_ident())
    while not stop.is_set():
        with budget_lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        path = "/similar?" + urllib.parse.urlencode({"item": rng.choice(ids), "k": k})
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
        out.append((time.perf_counter() - started) * 1000)


def load(
    port: int, ids: list[str], *, clients: int, seconds: float, requests: int, k: int
) -> dict[str, float]:
    stop = threading.Event()
    budget = [requests]
    latencies: list[float] = []
    threads = [
        threading.Thread(target=client, args=(port, ids, k, stop, budget, latencies), daemon=True)
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


def measure(model: Path, approx: bool, args: argparse.Namespace, ids: list[str]) -> dict[str, float]:
    port = free_port()
    command = [sys.executable, "-m", "item2vec", "serve", str(model), "--host", HOST, "--port", str(port)]
    if approx:
        command.append("--approx")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.perf_counter()
        health = wait_healthy(port, server)
        ready = time.perf_counter() - started
        load(port, ids[:50], clients=args.clients, seconds=1.0, requests=200, k=args.k)  # warm up
        result = load(port, ids, clients=args.clients, seconds=args.seconds, requests=args.requests, k=args.k)
        result["ready"] = ready
        result["index"] = str(health.get("index"))  # type: ignore[assignment]
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0, help="longest run per mode")
    parser.add_argument("--requests", type=int, default=20_000, help="most requests per mode")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    with open(args.model / "vocab.tsv", encoding="utf-8") as handle:
        next(handle)
        ids = [line.split("\t", 1)[0] for line in handle]
    random.Random(0).shuffle(ids)
    ids = ids[:10_000]
    modes = [False] + ([True] if (args.model / "index.faiss").exists() else [])
    print(f"# {args.model}: GET /similar?k={args.k}, {args.clients} keep-alive clients, "
          f"at most {args.seconds:.0f} s or {args.requests:,} requests per mode")  # fmt: skip
    print("| mode | requests | req/s | p50 ms | p99 ms | start s |")
    print("|---|---:|---:|---:|---:|---:|")
    for approx in modes:
        r = measure(args.model, approx, args, ids)
        mode = f"--approx ({r['index']})" if approx else "exact"
        print(f"| {mode} | {r['requests']:,.0f} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['ready']:.1f} |",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
