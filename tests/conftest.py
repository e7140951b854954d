"""Suite-wide fixtures: an isolated FACTORYPILOT_HOME per test and real model requests forbidden.

Hypothesis runs derandomized (the same examples every run, so CI is deterministic); explore with fresh random
examples locally with ``HYPOTHESIS_PROFILE=explore pytest``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

from factorypilot.settings import get_settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ["FACTORYPILOT_ALLOW_MODEL_REQUESTS"] = "false"


@pytest.fixture(autouse=True)
def fp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "fp-home"
    monkeypatch.setenv("FACTORYPILOT_HOME", str(home))
    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "false")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def run_example() -> Callable[..., str]:
    """Run ``examples/<name>`` as a user would (a new interpreter, UTF-8), assert it exits 0, return its stdout.

    ``env`` replaces the environment (default: this process's, with the test's FACTORYPILOT_HOME)."""

    def run(name: str, *args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
        result = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True,
                                text=True, encoding="utf-8", timeout=timeout, check=False,
                                env=dict(os.environ if env is None else env))
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return run


class Unprivileged:
    """Run a command as a process file permissions apply to. As root (CI) it is root *without* the capabilities
    that bypass them (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``, dropped with util-linux ``setpriv`` from the
    bounding and inheritable sets): a 0444 file owned by root is then read-only for it, as for any user. (Running
    as ``nobody`` instead fails where the interpreter lives under root's 0700 home, e.g. pyenv in /root.) As any
    other user, the command runs unchanged."""

    CAPS = "-dac_override,-dac_read_search"

    def __init__(self) -> None:
        import shutil

        self.prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            self.prefix = [setpriv, "--bounding-set", self.CAPS, "--inh-caps", self.CAPS, "--"] if setpriv else []
        self.missing = os.geteuid() == 0 and not self.prefix

    def run(self, argv: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *argv], env=dict(env), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> Unprivileged:
    """See :class:`Unprivileged`. First proves that the permissions really apply (a 0444 file cannot be opened
    for writing); skips, saying exactly why, only when that cannot be arranged."""
    who = Unprivileged()
    if who.missing:
        pytest.skip("running as root without util-linux setpriv: root writes through file permissions, so a "
                    "read-only home cannot be made (install util-linux)")
    probe_file = tmp_path_factory.mktemp("unprivileged") / "probe-readonly"
    probe_file.write_text("x", encoding="ascii")
    probe_file.chmod(0o444)
    probe = who.run([sys.executable, "-c", f"open({str(probe_file)!r}, 'a')"], os.environ)
    probe_file.chmod(0o644)
    if probe.returncode == 0:
        pytest.skip("file permissions do not apply even with CAP_DAC_OVERRIDE dropped (setpriv without "
                    "CAP_SETPCAP?): a read-only home cannot be made here")
    assert "PermissionError" in probe.stderr, probe.stderr
    return who
