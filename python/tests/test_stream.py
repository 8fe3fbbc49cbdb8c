"""Streaming exec and terminals over the daemon's websocket (DESIGN §4), against the real daemon."""
from __future__ import annotations

import os
import re
import time
from typing import Callable

import pytest

import runta
from conftest import Daemon

NewRuntime = Callable[..., runta.Runtime]


def read_until(stream: runta.ExecStream, pattern: str, timeout: float = 20) -> str:
    """Output (stdout and stderr, as text) up to and including a match of ``pattern``."""
    seen = ""
    deadline = time.monotonic() + timeout
    for chunk in stream:
        seen += chunk.data.decode("utf-8", "replace")
        if re.search(pattern, seen):
            return seen
        assert time.monotonic() < deadline, f"no {pattern!r} within {timeout} s; saw {seen!r}"
    raise AssertionError(f"the stream ended before {pattern!r}; saw {seen!r}")


def test_pipes_stdin_and_keeps_stdout_and_stderr_apart(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    payload = os.urandom(3 * 1024 * 1024)  # binary, and larger than one frame: the SDK splits it
    with rt.exec_stream(["sh", "-c", "cat; echo done >&2; exit 3"]) as s:
        s.write(payload)
        s.close_stdin()
        end = s.wait(timeout=60)
    assert end.code == 3 and end.stdout == payload and end.stderr == b"done\n"


def test_iteration_yields_chunks_then_wait_returns_the_exit(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    s = rt.exec_stream("for i in 1 2 3; do echo out$i; echo err$i >&2; done", env={"X": "1"}, cwd="/tmp")
    chunks = list(s)
    out = b"".join(c.data for c in chunks if c.stream == "stdout")
    err = b"".join(c.data for c in chunks if c.stream == "stderr")
    assert (out, err) == (b"out1\nout2\nout3\n", b"err1\nerr2\nerr3\n")
    end = s.wait()
    assert end.code == 0 and end.stdout == b"" and s.done  # iteration consumed the output


def test_a_terminal_with_size_resize_and_exit_code(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    with rt.exec_stream(["sh"], tty=True, rows=30, cols=90) as shell:
        shell.write("stty size\n")
        assert "30 90" in read_until(shell, r"30 90")
        shell.resize(40, 100)
        shell.write(b"stty size; tty; exit 7\n")
        seen = read_until(shell, r"40 100[\s\S]*/dev/pts/\d+")
        assert "\r\n" in seen  # a real terminal's line discipline
        assert shell.wait(timeout=20).code == 7


def test_signals_reach_the_command(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    with rt.exec_stream(["sh", "-c", "trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.1; done"]) as s:
        read_until(s, "ready")
        s.signal("INT")
        assert s.wait(timeout=20).code == 42
    with rt.exec_stream(["sleep", "100"]) as s:
        time.sleep(0.3)
        s.signal("KILL")
        end = s.wait(timeout=20)
        assert end.code == 137 and end.signal in ("KILL", "SIGKILL")
    with pytest.raises(runta.InvalidArgumentError):
        s.signal("STOP")  # type: ignore[arg-type]


def test_the_connection_outlives_the_daemons_heartbeats(new_runtime: NewRuntime) -> None:
    # The daemon pings every 5 s and drops a peer that misses two pongs: 12 s of silence needs the pongs to work.
    rt = new_runtime()
    with rt.exec_stream(["sh", "-c", "sleep 12; echo still-here"]) as s:
        end = s.wait(timeout=40)
    assert end.code == 0 and end.stdout == b"still-here\n"


def test_a_fragmented_start_frame_is_reassembled_by_the_daemon(daemon: Daemon, new_runtime: NewRuntime) -> None:
    from runta._websocket import OP_TEXT, WebSocket
    import json

    rt = new_runtime()
    host, port = daemon.listen.rsplit(":", 1)
    ws = WebSocket.connect(host, int(port), f"/v1/runtimes/{rt.id}/exec/stream", headers={"Authorization": f"Bearer {daemon.token}"})
    try:
        ws.send_text(json.dumps({"type": "start", "command": ["echo", "in pieces"]}), fragment_size=7)
        frames = []
        while not frames or frames[-1]["type"] != "exit":
            op, data = ws.recv()
            assert op == OP_TEXT
            frames.append(json.loads(data))
        assert {"type": "stdout", "data_base64": "aW4gcGllY2VzCg=="} in frames and frames[-1]["code"] == 0
    finally:
        ws.shutdown()


def test_refusals_and_errors_are_typed(daemon: Daemon, client: runta.Runta, new_runtime: NewRuntime) -> None:
    with pytest.raises(runta.NotFoundError, match="py-no-such-runtime"):
        client.runtimes.exec_stream("py-no-such-runtime", ["true"]).wait(timeout=20)
    with pytest.raises(runta.UnauthenticatedError) as e:
        runta.Runta(daemon.endpoint, "wrong-token").runtimes.exec_stream("x", ["true"])
    assert "wrong-token" not in str(e.value)
    rt = new_runtime()
    rt.stop()
    with pytest.raises(runta.FailedPreconditionError, match="shutdown"):
        rt.exec_stream(["true"]).wait(timeout=20)


def test_closing_the_stream_hangs_up_the_command(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    s = rt.exec_stream(["sh", "-c", "echo started; sleep 100"])
    read_until(s, "started")
    s.close()
    with pytest.raises(runta.UnavailableError, match="closed before the command exited"):
        s.wait(timeout=20)
    deadline = time.monotonic() + 20
    while "sleep 100" in rt.exec(["ps", "-eo", "args"]).stdout_text:
        assert time.monotonic() < deadline, "the command outlived its stream"
        time.sleep(0.2)


def test_wait_with_a_timeout_leaves_the_stream_running(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    with rt.exec_stream(["sh", "-c", "sleep 1; echo late"]) as s:
        with pytest.raises(TimeoutError):
            s.wait(timeout=0.1)
        assert s.wait(timeout=20).stdout == b"late\n"
