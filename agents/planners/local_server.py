"""A local OpenAI-compatible model server: llama.cpp's own server, embedded through ``xllamacpp``.

``pip install "factorypilot[local-llm]"`` brings the runtime (a prebuilt wheel, no compiler needed); the model
is any GGUF file you point at — factorypilot ships none and never downloads one. The server listens on
127.0.0.1 by default, with a fixed number of CPU threads (``threads``; on a shared 2-core machine leave one
core to the plant connection) and OpenMP's passive wait, so an idle server does not spin the CPU.

Example::

    with LocalModelServer("qwen2.5-1.5b-instruct-q4_k_m.gguf", port=8080, threads=2) as srv:
        base_url = srv.base_url    # http://127.0.0.1:8080/v1 — use it as planner.base_url

On the CLI: ``factorypilot llm serve --model PATH.gguf`` (then ``factorypilot llm check``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from factorypilot.errors import ConfigError, DependencyMissing

__all__ = ["LocalModelServer", "check_gguf", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_gguf(path: Path) -> Path:
    """``path`` as a readable GGUF model file, else a ConfigError saying what to do."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}", where=str(path),
                          hint="point --model at a GGUF file (e.g. a Q4_K_M quantised instruct model)")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ConfigError(f"not a GGUF model file (starts with {magic!r})", where=str(path),
                          hint="llama.cpp serves GGUF files; convert or download the model in GGUF format")
    return path


class LocalModelServer:
    """llama.cpp's server in this process (``xllamacpp.Server``); stopped when the context ends."""

    def __init__(self, model: Path | str, *, host: str = "127.0.0.1", port: int | None = None, threads: int = 2,
                 ctx_size: int = 4096, alias: str | None = None) -> None:
        self.model = check_gguf(Path(model))
        if threads < 1:
            raise ConfigError("threads must be at least 1", where="--threads")
        self.host = host
        self.port = port or free_port(host)
        self.threads = threads
        self.ctx_size = ctx_size
        self.alias = alias or self.model.stem
        self._server: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> LocalModelServer:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before the runtime loads: idle threads sleep
        try:
            import xllamacpp
        except ImportError as exc:
            raise DependencyMissing("xllamacpp", "local-llm", feature="the local model server") from exc
        p = xllamacpp.CommonParams()
        p.model.path = str(self.model)
        p.model_alias = {self.alias}
        p.n_ctx = self.ctx_size
        p.n_parallel = 1
        p.cpuparams.n_threads = self.threads
        p.cpuparams_batch.n_threads = self.threads
        p.cpuparams.poll = 0  # no busy polling between tokens
        p.cpuparams_batch.poll = 0
        p.hostnames = [self.host]
        p.port = self.port
        p.use_jinja = True  # the model's own chat template (tool calls, when the template has them)
        try:
            self._server = xllamacpp.Server(p)
        except Exception as exc:  # the runtime reports load errors as RuntimeError with llama.cpp's text
            raise ConfigError(f"the model server did not start: {exc}", where=str(self.model),
                              hint="check the file is a complete GGUF model and the port is free") from exc
        return self

    def stop(self) -> None:
        self._server = None  # the server's destructor stops its loop and frees the model

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
