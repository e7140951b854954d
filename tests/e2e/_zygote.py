"""A fork server for the fault matrix: one process imports the ``factorypilot`` CLI once; every command is a
*forked child* of it that runs the CLI's real ``main`` with its own argv, environment, stdout and stderr.

Each command is still a separate process (its own PID, killed by a real SIGKILL from the crash hook; its exit
status is what ``waitpid`` says) — only the ~1.5 s CPU of importing langgraph, asyncua and pydantic models is
paid once instead of two or three times per matrix cell. The server is single-threaded when it forks (it only
imported modules; it checks), so the child starts in a clean state.

    with Zygote() as z:
        done = z.run([EXE, "pilot", "resume", spec, ...], env=..., timeout=120)   # a CompletedProcess
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


def _child(req: dict[str, object]) -> None:
    """In the forked child: become the command (environment, stdio, argv) and exit with its status."""
    os.environ.clear()
    os.environ.update(req["env"])  # type: ignore[arg-type]
    for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
        out = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    argv = [str(a) for a in req["argv"]]  # type: ignore[attr-defined]
    if len(argv) > 1 and argv[1].endswith("_crashing_cli.py"):  # [python, _crashing_cli.py, ...]: the CLI + probe
        argv = argv[1:]
    sys.argv = argv
    code = 0
    try:
        from factorypilot.agents import probes
        from factorypilot.cli import main
        from factorypilot.settings import get_settings

        point = os.environ.get("FACTORYPILOT_TEST_CRASH_AT")
        if point:  # what _crashing_cli.py installs: SIGKILL at that probe point
            probes.install(lambda at: os.kill(os.getpid(), signal.SIGKILL) if at == point else None)
        get_settings.cache_clear()
        main(argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # what an uncaught exception does to a real process: a traceback, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _serve() -> None:
    import langgraph.checkpoint.sqlite.aio  # noqa: F401 — the heavy imports, paid once

    import factorypilot.agents
    import factorypilot.cli._app as cli_app
    import factorypilot.connectors.opcua
    import factorypilot.pilots.runtime  # noqa: F401

    cli_app._register()
    if threading.active_count() != 1:
        raise SystemExit(f"zygote: {threading.active_count()} threads after imports; forking would be unsafe")
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(req)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"rc": os.waitstatus_to_exitcode(status)}), flush=True)


class Zygote:
    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fp-zygote-")
        self._proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)
        self._read(600)  # ready

    def _read(self, timeout: float) -> dict[str, int]:
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote died (exit {self._proc.wait()})")
        return dict(json.loads(line))

    def run(self, argv: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert self._proc.stdin is not None
        out, err = Path(self._tmp.name) / "stdout", Path(self._tmp.name) / "stderr"
        self._proc.stdin.write(json.dumps({"argv": argv, "env": dict(env), "stdout": str(out),
                                           "stderr": str(err)}) + "\n")
        self._proc.stdin.flush()
        pid = self._read(60)["pid"]
        started = time.monotonic()
        try:
            rc = self._read(timeout)["rc"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._read(60)
            raise subprocess.TimeoutExpired(argv, time.monotonic() - started,
                                            out.read_text(encoding="utf-8", errors="replace"),
                                            err.read_text(encoding="utf-8", errors="replace")) from None
        return subprocess.CompletedProcess(argv, rc, out.read_text(encoding="utf-8", errors="replace"),
                                           err.read_text(encoding="utf-8", errors="replace"))

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._tmp.cleanup()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    _serve()
