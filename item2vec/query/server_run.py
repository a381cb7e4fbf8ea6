"""Running the HTTP service: check the model, bind the port, serve with uvicorn.

``serve`` loads and checks the model, its scoring record and parts, and binds the port before
anything is announced, so a bad model or a port in use is a one-line error; uvicorn then serves
on that socket, in this process or in worker processes that each load the model named in the
environment (:func:`app_from_env`). The app itself is ``item2vec.query.server``.
"""

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import ConfigError, param
from item2vec.extras import require
from item2vec.query.filters import read_items_table
from item2vec.query.server import PURPOSE, load_for_serving, make_app
from item2vec.query.server_scoring import open_scoring

if TYPE_CHECKING:
    import pyarrow as pa
    from fastapi import FastAPI

ENV_MODEL = "ITEM2VEC_SERVE_MODEL"
ENV_APPROX = "ITEM2VEC_SERVE_APPROX"
ENV_ITEMS = "ITEM2VEC_SERVE_ITEMS"
ENV_ID_COL = "ITEM2VEC_SERVE_ID_COL"

_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def app_from_env() -> "FastAPI":
    """uvicorn factory for ``--processes`` above 1: each process loads the model named in the environment."""
    model = os.environ[ENV_MODEL]
    approx = os.environ.get(ENV_APPROX) == "1"
    embeddings = load_for_serving(model)
    parts, searcher = open_scoring(embeddings, model, approx=approx)
    items = _items(os.environ.get(ENV_ITEMS), os.environ.get(ENV_ID_COL, "id"))
    return make_app(embeddings, title=f"item2vec: {model}", parts=parts, searcher=searcher, items=items)


def _items(path: str | None, id_col: str) -> "pa.Table | None":
    """The item table ``serve --items`` names (every column), or None."""
    return read_items_table(path, id_col) if path else None


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening), or a one-line error.

    Raises:
        ConfigError: the port is in use or needs privileges, or the host cannot be bound.
    """
    import errno

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Named as TCP, so asyncio sets TCP_NODELAY on every accepted connection (it checks the
    # protocol): without it a response leaves in two writes, and Nagle's algorithm holds the
    # second until the client's delayed ACK, 40 ms per keep-alive request. The option is set on
    # the listening socket too, which accepted connections inherit (worker processes included).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a TIME_WAIT port is free
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use: pick another with {param('port')}",
                param="port",
                value=port,
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigError(
                f"port {port} on {host} needs privileges: pick one above 1023 with {param('port')}",
                param="port",
                value=port,
            ) from None
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {host}:{port} ({reason}): check {param('host')} and {param('port')}",
            param="host",
            value=host,
        ) from None
    sock.set_inheritable(True)  # worker processes serve on it
    return sock


def serve(
    model: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    processes: int = 1,
    approx: bool = False,
    items: str | None = None,
    id_col: str = "id",
    quiet: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Check the model, bind the port, call ``ready(url)``, then serve with uvicorn until interrupted.

    Ctrl-C stops the server gracefully and then raises KeyboardInterrupt, as anywhere else.

    Raises:
        ModelError: the model (or its index, with ``approx``) cannot be loaded.
        InputError: ``items`` (a table for ``where`` filters) cannot be read, or lacks ``id_col``.
        ConfigError: the port is in use (see :func:`listen`), or a worker process failed to start.
        MissingDependencyError: fastapi or uvicorn is not installed.
    """
    require("uvicorn", PURPOSE)
    require("fastapi", PURPOSE)
    for name in _BLAS_THREADS:  # before numpy loads: one thread per request, not per request x cores
        os.environ.setdefault(name, "1")
    embeddings = load_for_serving(model)  # fail fast on a bad model,
    parts, searcher = open_scoring(embeddings, model, approx=approx)  # index,
    table = _items(items, id_col)  # item table,
    app: Any = make_app(
        embeddings, title=f"item2vec: {model}", parts=parts, searcher=searcher, items=table
    )  # record, part
    sock = listen(host, port)
    try:
        if ready is not None:
            ready(f"http://{host}:{sock.getsockname()[1]}")
        if processes > 1:
            os.environ[ENV_MODEL] = str(model)
            os.environ[ENV_APPROX] = "1" if approx else "0"
            os.environ.update({ENV_ITEMS: items or "", ENV_ID_COL: id_col})
            app = "item2vec.query.server_run:app_from_env"
        run_server(app, sock, processes=processes, log_level="warning" if quiet else "info")
    finally:
        sock.close()


def run_server(app: Any, sock: socket.socket, *, processes: int, log_level: str) -> None:
    """uvicorn on ``sock``: in this process, or ``processes`` worker processes loading ``app`` (a factory path).

    Raises:
        KeyboardInterrupt: after a graceful stop on Ctrl-C.
        ConfigError: the server or a worker process failed to start (uvicorn logged why).
    """
    import inspect

    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    if processes == 1:
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
        server.run(sockets=[sock])  # on Ctrl-C it stops, then raises SIGINT again: KeyboardInterrupt
        if not server.started:
            raise ConfigError("the server did not start: see uvicorn's log above")
        return

    class Supervisor(Multiprocess):
        interrupted = False

        def handle_int(self) -> None:
            self.interrupted = True
            super().handle_int()

    config = uvicorn.Config(app, factory=True, workers=processes, log_level=log_level)
    older = "target" in inspect.signature(Multiprocess.__init__).parameters  # uvicorn < 0.30
    supervisor = Supervisor(
        config, sockets=[sock], **({"target": uvicorn.Server(config).run} if older else {})
    )
    supervisor.run()
    if supervisor.interrupted:
        raise KeyboardInterrupt
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise ConfigError("a worker process failed to start: see uvicorn's log above")
