from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from item2vec.cli import cli
from item2vec.errors import MissingDependencyError
from item2vec.query.scoring import make_scorer, open_parts
from item2vec.query.server import load_for_serving, make_app
from item2vec.query.server_scoring import open_scoring


def snapshot(path: Path) -> dict[str, tuple[int, int, str]]:
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(path.iterdir())
    }


def serving(model: Path, *, approx: bool = False) -> TestClient:
    embeddings = load_for_serving(model)
    parts, searcher = open_scoring(embeddings, model, approx=approx)
    return TestClient(make_app(embeddings, parts=parts, searcher=searcher))


@pytest.fixture
def client(tiny_model: Path) -> TestClient:
    return serving(tiny_model)


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "items": 8, "dim": 4, "approx": False, "index": None,
        "scores": ["similar", "next", "hybrid"],
    }  # fmt: skip


def test_similar(client: TestClient) -> None:
    response = client.get("/similar", params={"item": "apple", "k": 2})
    assert response.status_code == 200
    assert response.json() == {
        "query": "apple",
        "score": "similar",
        "results": [
            {"rank": 1, "item": "pear", "score": 0.980581, "name": "Green Pear"},
            {"rank": 2, "item": "plum", "score": 0.940721, "name": "Plum (dark)"},
        ],
    }


def test_similar_matches_the_library(client: TestClient, tiny_model: Path) -> None:
    from item2vec.model.store import load
    from item2vec.query.neighbours import similar

    want = [(n.item, round(n.score, 6)) for n in similar(load(tiny_model), ["king"], 7)]
    got = client.get("/similar", params={"item": "king", "k": 7}).json()["results"]
    assert [(r["item"], r["score"]) for r in got] == want


def test_unknown_item_is_a_404_naming_it(client: TestClient) -> None:
    response = client.get("/similar", params={"item": "duke"})
    assert response.status_code == 404
    body = response.json()
    assert body["item"] == "duke"
    assert body["detail"].startswith("item 'duke' is not in the model (8 items; it occurred 3 times")
    assert client.get("/items/nope").json()["item"] == "nope"
    assert client.get("/analogy", params={"positive": ["king", "x"]}).json()["item"] == "x"


@pytest.mark.parametrize("k", [0, 1001, -3])
def test_k_out_of_range_is_a_422(client: TestClient, k: int) -> None:
    assert client.get("/similar", params={"item": "apple", "k": k}).status_code == 422
    assert client.post("/recommend", json={"history": ["apple"], "k": k}).status_code == 422


def test_k_at_the_limits(client: TestClient) -> None:
    assert len(client.get("/similar", params={"item": "apple", "k": 1}).json()["results"]) == 1
    assert len(client.get("/similar", params={"item": "apple", "k": 1000}).json()["results"]) == 7


def test_analogy(client: TestClient) -> None:
    params: dict[str, Any] = {"positive": ["king", "woman"], "negative": ["man"], "k": 1}
    response = client.get("/analogy", params=params)
    assert response.status_code == 200
    assert response.json()["query"] == "king + woman - man"
    assert response.json()["results"][0]["item"] == "queen"
    mul = client.get("/analogy", params={**params, "method": "mul"})
    assert mul.status_code == 200 and mul.json()["results"][0]["item"] == "queen"
    assert client.get("/analogy", params={"negative": ["man"]}).status_code == 422


def test_recommend(client: TestClient) -> None:
    body = {"history": ["nope", "apple", "pear"], "k": 1, "score": "similar"}
    response = client.post("/recommend", json=body)
    assert response.status_code == 200
    assert response.json() == {
        "used": ["apple", "pear"],
        "skipped": ["nope"],
        "score": "similar",
        "results": [{"rank": 1, "item": "plum", "score": 0.93438, "name": "Plum (dark)"}],
    }
    kept = client.post(
        "/recommend", json={"history": ["apple"], "k": 1, "keep_seen": True, "score": "similar"}
    )
    assert kept.json()["results"][0]["item"] == "apple"


def test_recommend_limits(client: TestClient) -> None:
    assert client.post("/recommend", json={"history": ["apple"] * 1000}).status_code == 200
    too_long = client.post("/recommend", json={"history": ["apple"] * 1001})
    assert too_long.status_code == 422
    assert client.post("/recommend", json={"history": []}).status_code == 422
    assert client.post("/recommend", json={"history": ["apple"], "decay": 0}).status_code == 422
    unknown = client.post("/recommend", json={"history": ["nope", "never", "nope"]})
    assert unknown.status_code == 404 and unknown.json()["items"] == ["nope", "never"]


@pytest.mark.parametrize("mode", ["similar", "next", "hybrid"])
def test_score_modes_match_the_library(client: TestClient, tiny_model: Path, mode: str) -> None:
    parts = open_parts(load_for_serving(tiny_model), tiny_model)
    scorer = make_scorer(parts, mode, hybrid_weight=3.0)
    response = client.get("/similar", params={"item": "apple", "k": 3, "score": mode, "hybrid_weight": 3})
    assert response.status_code == 200
    assert response.json()["score"] == scorer.describe()
    assert [r["item"] for r in response.json()["results"]] == [n.item for n in scorer.similar(["apple"], 3)]
    history = ["queen", "apple", "king"]
    body = {"history": history, "k": 3, "score": mode, "hybrid_weight": 3}
    from item2vec.query.recommend import recommend

    want = recommend(parts.embeddings, history, 3, scorer=scorer).neighbours
    got = client.post("/recommend", json=body).json()["results"]
    assert [(r["item"], r["score"]) for r in got] == [(n.item, round(n.score, 6)) for n in want]


def test_recommend_defaults_to_the_models_score(client: TestClient) -> None:
    default = client.post("/recommend", json={"history": ["apple"], "k": 2}).json()
    assert default["score"] == "hybrid (similar, weight 2)"
    assert client.get("/similar", params={"item": "apple"}).json()["score"] == "similar"


def test_score_errors_are_422(tiny_model: Path) -> None:
    (tiny_model / "transitions.npz").unlink()
    client = serving(tiny_model)
    assert client.get("/health").json()["scores"] == ["similar", "next"]
    missing = client.get("/similar", params={"item": "apple", "score": "hybrid"})
    assert missing.status_code == 422
    assert "hybrid needs transitions (transitions.npz)" in missing.json()["detail"]
    assert client.post("/recommend", json={"history": ["apple"]}).status_code == 422
    assert client.get("/similar", params={"item": "apple", "score": "best"}).status_code == 422
    assert client.get("/similar", params={"item": "apple", "hybrid_weight": -1}).status_code == 422
    bad = client.post("/recommend", json={"history": ["apple"], "score": "next", "hybrid_weight": -2})
    assert bad.status_code == 422
    for weight in ("nan", "inf"):
        odd = client.get("/similar", params={"item": "apple", "score": "next", "hybrid_weight": weight})
        assert odd.status_code == 422 and "detail" in odd.json()


def test_a_huge_hybrid_weight_is_a_422_with_its_fields(client: TestClient) -> None:
    # 1e39 overflows float32: every score would be -inf or nan and every answer empty
    for response in (
        client.get("/similar", params={"item": "apple", "score": "hybrid", "hybrid_weight": 1e39}),
        client.post("/recommend", json={"history": ["apple"], "hybrid_weight": 1e39}),
    ):
        assert response.status_code == 422
        assert response.json() == {
            "detail": "hybrid_weight=1e+39 is invalid: use a number from 0 to 1000, e.g. 2",
            "param": "hybrid_weight",
            "value": 1e39,
            "expected": "a number from 0 to 1000, e.g. 2",
        }
    assert (
        client.get("/similar", params={"item": "apple", "score": "hybrid", "hybrid_weight": 1000}).status_code
        == 200
    )


def test_items(client: TestClient) -> None:
    assert client.get("/items/apple").json() == {"item": "apple", "count": 30, "name": "Red Apple"}
    with_vector = client.get("/items/pear", params={"vector": True}).json()
    assert with_vector["vector"] == [0.0, 0.2, 0.0, 1.0] and with_vector["name"] == "Green Pear"


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/similar", "/analogy", "/recommend", "/items/{item}", "/health"} <= set(paths)


def test_the_model_directory_is_never_written(tiny_model: Path) -> None:
    before = snapshot(tiny_model)
    client = serving(tiny_model)
    client.get("/similar", params={"item": "apple"})
    client.get("/similar", params={"item": "apple", "score": "next"})
    client.get("/analogy", params={"positive": ["king"], "method": "mul"})
    client.post("/recommend", json={"history": ["apple"]})
    client.get("/items/apple", params={"vector": True})
    assert snapshot(tiny_model) == before
    assert not load_for_serving(tiny_model).vectors.flags.writeable  # memory-mapped read-only


def test_approx_serves_from_the_index(tiny_model: Path) -> None:
    pytest.importorskip("faiss")
    assert CliRunner().invoke(cli, ["index", str(tiny_model), "--kind", "flat"]).exit_code == 0
    exact = serving(tiny_model)
    approx = serving(tiny_model, approx=True)
    assert approx.get("/health").json()["index"] == "flat"
    for item in ("king", "apple", "woman"):
        for mode in ("similar", "next", "hybrid"):
            assert (
                approx.get("/similar", params={"item": item, "score": mode}).json()
                == exact.get("/similar", params={"item": item, "score": mode}).json()
            )
    mul = approx.get("/analogy", params={"positive": ["king", "woman"], "negative": ["man"], "method": "mul"})
    assert mul.status_code == 422
    assert mul.json() == {
        "detail": "method=mul scores every item, so it cannot use an index: use method=add",
        "param": "method",
        "value": "mul",
        "expected": "add",
    }


def test_approx_without_the_output_index_offers_only_what_it_can(tiny_model: Path) -> None:
    pytest.importorskip("faiss")
    assert CliRunner().invoke(cli, ["index", str(tiny_model), "--kind", "flat"]).exit_code == 0
    (tiny_model / "index-next.faiss").unlink()
    approx = serving(tiny_model)  # the fixture's hybrid is on the similar base: its index is there
    assert approx.get("/health").json()["scores"] == ["similar", "next", "hybrid"]
    approx = serving(tiny_model, approx=True)
    assert approx.get("/health").json()["scores"] == ["similar", "hybrid"]
    refused = approx.get("/similar", params={"item": "apple", "score": "next"})
    assert refused.status_code == 422 and "no index of its output vectors" in refused.json()["detail"]
    on_next = approx.get("/similar", params={"item": "apple", "score": "hybrid", "hybrid_base": "next"})
    assert on_next.status_code == 422
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["scoring"]["hybrid_base"] = "next"  # the shipped default base: hybrid needs index-next too
    (tiny_model / "model.json").write_text(json.dumps(meta))
    assert serving(tiny_model, approx=True).get("/health").json()["scores"] == ["similar"]


def test_missing_fastapi_names_the_extra(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(
        MissingDependencyError, match=r"item2vec serve needs fastapi.*pip install 'item2vec\[serve\]'"
    ):
        make_app(load_for_serving(tiny_model))


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """serve's uvicorn runs, recorded instead of serving (the socket is already bound then)."""
    from item2vec.query import server_run as server

    calls: list[dict[str, Any]] = []

    def record(app: Any, sock: Any, **kw: Any) -> None:
        calls.append({"app": app, "port": sock.getsockname()[1], **kw})

    monkeypatch.setattr(server, "run_server", record)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "ITEM2VEC_SERVE_MODEL"):
        monkeypatch.delenv(name, raising=False)  # serve sets them; restore them afterwards
    monkeypatch.delenv("ITEM2VEC_SERVE_APPROX", raising=False)
    return calls


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_command_runs_uvicorn_on_loopback(tiny_model: Path, runs: list[dict[str, Any]]) -> None:
    port = free_port()
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"serving {tiny_model} at http://127.0.0.1:{port} (docs: /docs); Ctrl-C stops\n"
    assert runs[0]["port"] == port and runs[0]["processes"] == 1 and runs[0]["log_level"] == "info"
    assert TestClient(runs[0]["app"]).get("/health").json()["items"] == 8
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--processes", "2", "--port", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert runs[1]["app"] == "item2vec.query.server_run:app_from_env"
    assert (runs[1]["processes"], runs[1]["log_level"]) == (2, "warning")
    from item2vec.query.server_run import app_from_env

    assert TestClient(app_from_env()).get("/health").json()["items"] == 8


@pytest.mark.parametrize(
    ("scoring", "key"),
    [("hybrid", "'scoring'"), ({"hybrid_weight": "8"}, "'scoring.hybrid_weight'"),
     ({"hybrid_weight": 1e39}, "'scoring.hybrid_weight'"), ({"score": "best"}, "'scoring.score'")],
)  # fmt: skip
def test_serve_checks_the_scoring_record_before_it_announces(
    tiny_model: Path, runs: list[dict[str, Any]], scoring: Any, key: str
) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["scoring"] = scoring  # a hand-edited model.json
    (tiny_model / "model.json").write_text(json.dumps(meta))
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--port", "0"])
    assert result.exit_code == 1 and not runs
    assert "serving" not in result.stderr and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: model.json's {key} is ")
    assert "--hybrid-weight" not in result.stderr and "--score" not in result.stderr  # flags not given


def test_serve_approx_without_an_index_announces_nothing(
    tiny_model: Path, runs: list[dict[str, Any]]
) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--port", "0", "--approx"])
    assert result.exit_code == 1 and not runs and "serving" not in result.stderr
    assert "has no index: build one with 'item2vec index" in result.stderr
    assert result.stderr.rstrip().endswith("(or drop --approx)")


def test_serve_workers_is_the_old_spelling_of_processes(tiny_model: Path, runs: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--workers", "2", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("--workers is deprecated here: use --processes\n")
    assert runs[0]["processes"] == 2
    assert "--workers" not in CliRunner().invoke(cli, ["serve", "--help"]).output


def test_serve_checks_the_model_before_starting(tmp_path: Path, runs: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: model directory '{tmp_path / 'missing'}' does not exist: train one with 'item2vec train'\n"
    )  # nothing announced before the model is checked
    assert runs == []


def test_serve_refuses_a_port_in_use(tiny_model: Path, runs: list[dict[str, Any]]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: port {port} on 127.0.0.1 is in use: pick another with --port\n"
    assert runs == []


def test_serve_refuses_a_host_it_cannot_bind(tiny_model: Path, runs: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--host", "256.0.0.1", "--port", "0"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot listen on 256.0.0.1:0 (")
    assert result.stderr.endswith("): check --host and --port\n")
    assert runs == []


def test_run_server_reports_startup_failures_and_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's outcomes as errors: a server that never started, a worker that failed, Ctrl-C."""
    import socket

    import uvicorn
    import uvicorn.supervisors

    from item2vec.errors import ConfigError
    from item2vec.query.server_run import run_server

    class NeverStarts:
        started = False

        def __init__(self, config: Any) -> None:
            self.config = config

        def run(self, sockets: Any = None) -> None:
            return None

    monkeypatch.setattr(uvicorn, "Server", NeverStarts)
    with socket.socket() as sock, pytest.raises(ConfigError, match="the server did not start"):
        run_server(None, sock, processes=1, log_level="info")

    class Worker:
        def __init__(self, exitcode: int | None) -> None:
            self.exitcode = exitcode

    class Supervisor:
        def __init__(self, config: Any, sockets: Any) -> None:
            self.processes: list[Worker] = []

        def handle_int(self) -> None:
            pass

        def run(self) -> None:
            self.processes = [Worker(3)]  # uvicorn's STARTUP_FAILURE

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    with socket.socket() as sock, pytest.raises(ConfigError, match="a worker process failed to start"):
        run_server("x:y", sock, processes=2, log_level="info")

    class Interrupted(Supervisor):
        def run(self) -> None:
            self.handle_int()

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Interrupted)
    with socket.socket() as sock, pytest.raises(KeyboardInterrupt):
        run_server("x:y", sock, processes=2, log_level="info")


@pytest.mark.slow
def test_serve_ctrl_c_stops_with_130(tiny_model: Path) -> None:
    """A real server process: the banner after the model loads, then SIGINT ends it with 130."""
    import os
    import signal

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "item2vec", "serve", str(tiny_model), "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert banner.startswith(f"serving {tiny_model} at http://127.0.0.1:")
        for line in proc.stderr:  # uvicorn logs that it runs once it accepts connections
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
    assert "Traceback" not in rest


def test_an_analogy_that_cancels_is_a_422(client: TestClient) -> None:
    response = client.get("/analogy", params={"positive": ["king", "queen"], "negative": ["king"]})
    assert response.status_code == 422
    assert "adds and subtracts 'king', so the terms cancel" in response.json()["detail"]


def test_bad_numbers_are_a_json_422(client: TestClient) -> None:
    for body in ('{"history": ["apple"], "decay": NaN}', '{"history": ["apple"], "decay": Infinity}',
                 '{"history": ["apple"], "k": 1e400}', '{"history": ["apple"], "history_size": -Infinity}',
                 '{"history": [NaN]}', '{"history": ["apple"], "decay": 2}'):  # fmt: skip
        response = client.post("/recommend", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][0] == "body"
    detail = client.post(
        "/recommend",
        content='{"history": ["apple"], "decay": NaN}',
        headers={"content-type": "application/json"},
    ).json()["detail"][0]
    assert (detail["loc"], detail["input"]) == (["body", "decay"], "nan")
    assert client.get("/similar", params={"item": "apple", "k": "nan"}).status_code == 422


def test_cli_import_loads_no_optional_extra() -> None:
    code = "import sys, item2vec.cli; print([m for m in ('faiss', 'fastapi', 'uvicorn', 'pydantic') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_served_connections_send_without_delay(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real server on 127.0.0.1: accepted keep-alive connections have TCP_NODELAY, so a response
    never waits for the client's delayed ACK (40 ms a request)."""
    import http.client
    import socket
    import threading
    import time

    import uvicorn

    from item2vec.query.server_run import listen, run_server

    servers: list[uvicorn.Server] = []

    class Recorded(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            servers.append(self)

    monkeypatch.setattr(uvicorn, "Server", Recorded)
    sock = listen("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    embeddings = load_for_serving(tiny_model)
    app = make_app(embeddings, parts=open_parts(embeddings, tiny_model))
    thread = threading.Thread(
        target=run_server, args=(app, sock), kwargs={"processes": 1, "log_level": "warning"}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (servers and servers[0].started) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert servers and servers[0].started
        host, port = sock.getsockname()[:2]
        connection = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(2):  # keep-alive: one connection, two requests
            connection.request("GET", "/similar?item=apple&k=2")
            assert connection.getresponse().read()
        accepted = [c.transport.get_extra_info("socket") for c in servers[0].server_state.connections]
        assert len(accepted) == 1
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        connection.close()
    finally:
        if servers:
            servers[0].should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive()


# --- candidate filters -----------------------------------------------------------------------------


def test_similar_filters_match_the_library(client: TestClient, tiny_model: Path) -> None:
    from dataclasses import replace

    from item2vec.model.store import load
    from item2vec.query.filters import candidate_filter

    embeddings = load(tiny_model)
    scorer = make_scorer(open_parts(embeddings, tiny_model), "similar")
    found = candidate_filter(embeddings, exclude=["queen"], item_where=["count>=40"])
    want = [(n.item, round(n.score, 6)) for n in replace(scorer, candidates=found).similar(["king"], 3)]
    params: Any = {"item": "king", "k": 3, "exclude": ["queen"], "where": ["count>=40"]}
    body = client.get("/similar", params=params).json()
    assert [(r["item"], r["score"]) for r in body["results"]] == want
    assert [r["item"] for r in body["results"]] == ["prince", "man", "woman"]
    assert "notes" not in body


def test_similar_only_and_an_unknown_id(client: TestClient) -> None:
    params: Any = {"item": "apple", "k": 2, "only": ["pear", "plum", "ghost"]}
    body = client.get("/similar", params=params).json()
    assert [r["item"] for r in body["results"]] == ["pear", "plum"]
    assert body["notes"] == ["only='ghost' is not in the model: ignored"]
    assert "notes" not in client.get("/similar", params={"item": "apple", "k": 2}).json()


def test_recommend_filters_as_json_lists_or_an_object(client: TestClient) -> None:
    listed = client.post(
        "/recommend", json={"history": ["apple"], "k": 2, "exclude": ["pear"], "score": "similar"}
    )
    assert [r["item"] for r in listed.json()["results"]] == ["plum", "prince"]
    mapped = client.post(
        "/recommend", json={"history": ["apple"], "k": 2, "where": {"name": ["Green Pear", "King"]}}
    )
    assert [r["item"] for r in mapped.json()["results"]] == ["pear", "king"]
    kept = client.post("/recommend", json={"history": ["apple"], "only": ["plum"], "score": "similar"}).json()
    assert [r["item"] for r in kept["results"]] == ["plum"]
    assert kept["notes"] == ["the filters keep 1 item, so fewer than 10 are left ('history' has 1)"]


@pytest.mark.parametrize(
    ("request_args", "body"),
    [
        ({"params": {"item": "king", "where": "count>100"}},
         {"detail": "where=count>100 leaves no item to answer with (of the model's 8 items): loosen it",
          "param": "where", "value": "count>100", "expected": "filters that keep at least one item"}),
        ({"params": {"item": "king", "where": "category=toys"}},
         {"detail": "where=category=toys names column 'category', which the items table lacks: it has id, name, count",
          "param": "where", "value": "category=toys", "expected": "a filter on id, name, count"}),
        ({"params": {"item": "king", "only": "ghost"}},
         {"detail": "only='ghost' leaves no item to answer with (of the model's 8 items): loosen it",
          "param": "only", "value": ["ghost"], "expected": "filters that keep at least one item"}),
    ],
)  # fmt: skip
def test_filter_errors_are_422_naming_the_filter(client: TestClient, request_args: Any, body: Any) -> None:
    response = client.get("/similar", **request_args)
    assert response.status_code == 422
    assert response.json() == body


def test_recommend_filter_errors_are_422(client: TestClient) -> None:
    response = client.post("/recommend", json={"history": ["apple"], "where": ["nothing"]})
    assert response.status_code == 422 and response.json()["param"] == "where"
    response = client.post("/recommend", json={"history": ["apple"], "where": {"count": []}})
    assert response.status_code == 422 and response.json()["param"] == "where"


@pytest.mark.parametrize(
    "query", ["item=king&k=3&k=5", "item=king&item=queen", "item=king&score=next&score=similar"]
)
def test_a_repeated_parameter_is_refused(client: TestClient, query: str) -> None:
    response = client.get(f"/similar?{query}")
    assert response.status_code == 422
    name = query.split("&")[-1].split("=")[0]
    assert response.json()["param"] == name
    assert response.json()["detail"].startswith(f"{name!r} is given more than once")


def test_list_parameters_may_repeat(client: TestClient) -> None:
    response = client.get("/analogy?positive=king&positive=woman&negative=man&k=1")
    assert response.status_code == 200 and response.json()["results"][0]["item"] == "queen"
    assert client.get("/items/king?vector=true&vector=false").status_code == 422


def test_approx_filters_match_exact(tiny_model: Path) -> None:
    pytest.importorskip("faiss")
    assert CliRunner().invoke(cli, ["index", str(tiny_model), "--kind", "flat"]).exit_code == 0
    exact, approx = serving(tiny_model), serving(tiny_model, approx=True)
    for mode in ("similar", "next", "hybrid"):
        params: Any = {"item": "apple", "k": 3, "score": mode, "exclude": ["pear"], "where": ["count<=70"]}
        got, want = (c.get("/similar", params=params).json()["results"] for c in (approx, exact))
        assert [r["score"] for r in got] == [r["score"] for r in want]  # ties broken the index's way


def test_where_reads_the_items_table(tiny_model: Path, tmp_path: Path) -> None:
    from item2vec.query.filters import read_items_table

    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("sku,category,in_stock\napple,fruit,1\npear,fruit,0\nplum,fruit,1\nking,royal,1\n")
    embeddings = load_for_serving(tiny_model)
    table = read_items_table(str(catalogue), "sku")
    assert table.column_names == ["id", "category", "in_stock"]
    client = TestClient(make_app(embeddings, parts=open_parts(embeddings, tiny_model), items=table))
    params: Any = {"item": "apple", "where": ["category=fruit", "in_stock=1"]}
    assert [r["item"] for r in client.get("/similar", params=params).json()["results"]] == ["plum"]
    body = {"history": ["pear"], "where": {"category": "royal"}, "score": "similar", "k": 1}
    assert [r["item"] for r in client.post("/recommend", json=body).json()["results"]] == ["king"]
    missing = client.get("/similar", params={"item": "apple", "where": "colour=red"})
    assert missing.status_code == 422 and missing.json()["param"] == "where"


def test_serve_refuses_an_items_table_without_its_id_column(tiny_model: Path, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("sku,category\napple,fruit\n")
    result = CliRunner().invoke(cli, ["serve", str(tiny_model), "--items", str(catalogue), "--port", "0"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {catalogue}: no column 'id'; the columns are: sku, category "
        "(named by --id-col: choose one that exists)\n"
    )


def test_each_process_reads_the_items_table(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.query.server_run import ENV_APPROX, ENV_ID_COL, ENV_ITEMS, ENV_MODEL, app_from_env

    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("sku,category\napple,fruit\npear,fruit\n")
    for name, value in ((ENV_MODEL, str(tiny_model)), (ENV_APPROX, "0"), (ENV_ITEMS, str(catalogue)),
                        (ENV_ID_COL, "sku")):  # fmt: skip
        monkeypatch.setenv(name, value)
    client = TestClient(app_from_env())
    response = client.get("/similar", params={"item": "apple", "where": "category=fruit"})
    assert [r["item"] for r in response.json()["results"]] == ["pear"]


def test_requests_sharing_score_values_answer_as_a_fresh_app_does(tiny_model: Path) -> None:
    # The app keeps one scorer per distinct score values across requests: interleaved requests
    # answer exactly as each does alone on a fresh app, -0.0 and 0 are not taken for one another,
    # and a refused value is refused every time (never kept).
    asks: list[dict[str, Any]] = [
        {}, {"score": "similar"}, {"score": "next"}, {"score": "hybrid", "hybrid_weight": 2},
        {"score": "hybrid", "hybrid_weight": 0}, {"score": "hybrid", "hybrid_weight": -0.0},
        {"score": "hybrid", "hybrid_weight": 2.5, "hybrid_base": "next"}, {"hybrid_weight": 7},
        {"exclude": ["banana"]}, {"score": "best"}, {"score": "next", "hybrid_weight": -2},
    ]  # fmt: skip
    shared = serving(tiny_model)
    for ask in [*asks, *reversed(asks), *asks]:
        fresh = serving(tiny_model)
        for got, want in (
            [c.get("/similar", params={"item": "apple", "k": 3, **ask}) for c in (shared, fresh)],
            [
                c.post("/recommend", json={"history": ["apple", "banana"], "k": 3, **ask})
                for c in (shared, fresh)
            ],
        ):
            assert (got.status_code, got.json()) == (want.status_code, want.json()), ask
