"""Fixtures: one real daemon per test session, started exactly as the TypeScript tests start theirs.

``test/helpers/daemon-process.ts`` (run with vite-node) starts the built daemon (``npm run build`` first) with its own
temp data dir, runc root, cgroup parent and port, on the default image (python3 inside), prints its endpoint and
token, and on our closing its stdin deletes every runtime, stops the daemon and checks that nothing leaked. A leak or
a failed cleanup fails the session (an error in this fixture's teardown).
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

import runta

REPO = Path(__file__).resolve().parents[2]
# vite-node runs the TypeScript helper as vitest runs the tests (it comes with vitest, the same resolver and transforms).
VITE_NODE = REPO / "node_modules" / ".bin" / "vite-node"
DAEMON_PROCESS = REPO / "test" / "helpers" / "daemon-process.ts"
# The first run on a machine builds the default image with debootstrap (about a minute, longer on a busy machine).
START_TIMEOUT_SECS = 900


@dataclass(frozen=True)
class Daemon:
    endpoint: str
    token: str = field(repr=False)
    data_dir: str
    listen: str
    images_dir: str
    error_codes: list[str]

    def client(self, **kwargs: object) -> runta.Runta:
        return runta.Runta(self.endpoint, self.token, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    if not (REPO / "dist" / "server" / "main.js").exists():
        pytest.fail(f"{REPO}/dist is missing: run 'npm run build' first", pytrace=False)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(VITE_NODE), str(DAEMON_PROCESS)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        assert proc.stdout is not None and proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_SECS)
        line = proc.stdout.readline() if ready else b""
        if not line:
            proc.kill()
            proc.wait()
            log.seek(0)
            pytest.fail(f"the test daemon did not start:\n{log.read().decode(errors='replace')[-4000:]}", pytrace=False)
        info = json.loads(line)
        try:
            yield Daemon(info["endpoint"], info["token"], info["dataDir"], info["listen"], info["imagesDir"], info["errorCodes"])
        finally:
            proc.stdin.close()
            code = proc.wait(timeout=300)
            if code != 0:
                log.seek(0)
                pytest.fail(f"the test daemon's cleanup failed ({code}):\n{log.read().decode(errors='replace')[-4000:]}", pytrace=False)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No RUNTA_* variables and an empty config dir, so the machine's own settings never leak into a test."""
    for name in ("RUNTA_ENDPOINT", "RUNTA_TOKEN", "RUNTA_DATA_DIR", "RUNTA_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def daemon_env(daemon: Daemon, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    """RUNTA_ENDPOINT and RUNTA_TOKEN point at the test daemon, as a user would set them."""
    monkeypatch.setenv("RUNTA_ENDPOINT", daemon.endpoint)
    monkeypatch.setenv("RUNTA_TOKEN", daemon.token)
    return daemon


@pytest.fixture
def client(daemon: Daemon) -> Iterator[runta.Runta]:
    with daemon.client() as c:
        yield c


@pytest.fixture
def new_runtime(client: runta.Runta) -> Iterator[Callable[..., runta.Runtime]]:
    """Creates runtimes with unique names (small: 0.25 vCPU, 128 MiB) and deletes what is left of them afterwards."""
    made: list[str] = []

    def make(**kwargs: object) -> runta.Runtime:
        kwargs.setdefault("vcpus", 0.25)
        kwargs.setdefault("memory_mib", 128)
        name = str(kwargs.pop("name", f"py-{uuid.uuid4().hex[:8]}"))
        rt = client.runtimes.create(name, **kwargs)  # type: ignore[arg-type]
        made.append(rt.id)
        return rt

    yield make
    for rid in made:
        try:
            client.runtimes.delete(rid)
        except runta.NotFoundError:
            pass


def pytest_report_header(config: pytest.Config) -> str:
    return f"runta SDK {runta.__version__} from {os.path.dirname(runta.__file__)}"
