"""The seed's Python snippet (issue 16), run as written in a fresh interpreter against the real daemon."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import runta
from conftest import Daemon

SNIPPET = '''
from runta import Runta

with Runta() as runta:                       # RUNTA_ENDPOINT / RUNTA_TOKEN, then the local daemon's defaults
    runtime = runta.runtimes.create("worker", vcpus=2, memory_mib=2048)   # wait=True by default
    for item in runta.runtimes.list():
        print(item.id, item.name, item.cached_info.status)
    runtime = runta.runtimes.get("worker")
    result = runtime.exec(["sh", "-lc", "pwd && python3 --version"], timeout=30, env={"APP_ENV": "dev"})
    print(result.exit_code)
    print(result.stdout_text)
    runtime.pause(); runtime.resume(); runtime.stop(); runtime.start()
    runtime.resize_memory(4096)
    runtime.delete()
'''


def test_the_seed_snippet_runs_as_written(daemon_env: Daemon, client: runta.Runta) -> None:
    assert list(client.runtimes.list()) == []  # "worker" is only ours
    out = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert re.fullmatch(r"[0-9a-f-]{36} worker running", lines[0]), out.stdout
    assert lines[1:4] == ["0", "/root", lines[3]] and re.fullmatch(r"Python 3\.\d+\.\d+", lines[3]), out.stdout
    assert list(client.runtimes.list()) == []


def test_the_readmes_show_this_very_snippet() -> None:
    repo = Path(__file__).resolve().parents[2]
    for readme in (repo / "README.md", repo / "python" / "README.md"):
        assert SNIPPET.strip() in readme.read_text(), f"{readme} no longer shows the tested snippet"
