"""Exec objects (runta.execs) and exact bytes from exec, against the real daemon."""
from __future__ import annotations

import hashlib
import time
from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def test_buffered_exec_returns_the_exact_bytes(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    rt.exec("head -c 100000 /dev/urandom > /tmp/r")
    digest = rt.exec(["md5sum", "/tmp/r"]).stdout_text.split()[0]
    res = rt.exec(["cat", "/tmp/r"])
    assert len(res.stdout) == 100000 and hashlib.md5(res.stdout).hexdigest() == digest
    assert res.raw["stdout_invalid_utf8"] is True and res.exec_id


def test_run_streams_bytes_and_returns_the_exit(client: runta.Runta, new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    chunks: list[bytes] = []
    end = client.execs.run(rt.id, ["sh", "-c", "printf 'a\\377b'; echo oops >&2; exit 4"], on_stdout=chunks.append)
    assert b"".join(chunks) == b"a\xffb" and end.stderr == b"oops\n"
    assert (end.code, end.ended_by) == (4, "exited") and end.exec_id
    assert client.execs.get(rt.id, end.exec_id).kind == "stream"
    with pytest.raises(runta.NotFoundError):
        client.execs.run("no-such-runtime", ["true"])


def test_start_list_signal(client: runta.Runta, new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    info = client.execs.start(rt.id, ["sleep", "300"], user="nobody")
    assert (info.kind, info.status, info.user, info.command) == ("detached", "running", "nobody", ["sleep", "300"])
    assert any(e.id == info.id for e in client.execs.list(rt.id))
    client.execs.signal(rt.id, info.id, "KILL")
    for _ in range(50):
        now = client.execs.get(rt.id, info.id)
        if now.status == "ended":
            break
        time.sleep(0.1)
    assert (now.status, now.ended_by, now.exit_code) == ("ended", "killed", 137)
    with pytest.raises(runta.FailedPreconditionError):
        client.execs.signal(rt.id, info.id, "TERM")


def test_a_dropped_terminal_is_reattached_with_its_output(client: runta.Runta, new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    first = rt.exec_stream(["sh"], tty=True, grace_secs=30)
    first.write(b"echo mark-$((6*7))\n")
    seen = b""
    for chunk in first:
        seen += chunk.data
        if b"mark-42" in seen:
            break
    exec_id = first.exec_id
    assert exec_id
    first._ws.shutdown()  # the connection drops, no goodbye
    for _ in range(50):
        if client.execs.get(rt.id, exec_id).attached is False:
            break
        time.sleep(0.1)
    with client.execs.attach(rt.id, exec_id, rows=30, cols=100) as again:
        replay = b""
        for chunk in again:
            replay += chunk.data
            if b"mark-42" in replay:
                break
        again.write(b"exit 5\n")
        assert again.wait(timeout=20).code == 5
