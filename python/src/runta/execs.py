"""``runta.execs``: exec objects — list, get and signal the execs of a runtime, start one detached, run one with its
output streamed as the framed exec stream (``POST /v1/runtimes/{rt}/execs``), reattach to a terminal session."""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
import json
import struct
from typing import Any, Callable, Mapping, Optional

from ._http import Transport, seg
from .errors import InternalError, UnavailableError, error_for_code
from .exec_stream import ExecStream
from .models import ExecInfo, ExecSignal, StreamedExit
from . import _wire
from ._wire import Command

#: Content-Type of the framed exec stream (see the README of the repository, "The exec stream protocol").
EXEC_STREAM_CONTENT_TYPE = "application/vnd.runta.exec-stream"
_KINDS = {1: "stdout", 2: "stderr", 3: "started", 4: "exit", 5: "error"}
_HEADER = struct.Struct(">BI")
_MAX_PAYLOAD = 1024 * 1024

OutputCallback = Callable[[bytes], None]


def _body(command: Command, env: Optional[Mapping[str, str]], cwd: Optional[str], user: Optional[str], timeout: Optional[float]) -> dict[str, Any]:
    return _wire.body(command=_wire.command(command), env=env, cwd=cwd, user=user, timeout_secs=timeout)


class Execs:
    """The execs of runtimes (by name or id): every exec — buffered, streamed, terminal or detached — has an id."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(self, runtime: str) -> builtins.list[ExecInfo]:
        """The runtime's running execs and its last 100 finished ones, oldest first."""
        return [ExecInfo.from_wire(d) for d in self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/execs")["data"]]

    def get(self, runtime: str, exec_id: str) -> ExecInfo:
        """One exec (NotFoundError once it left the history)."""
        return ExecInfo.from_wire(self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/execs/{seg(exec_id)}")["data"])

    def signal(self, runtime: str, exec_id: str, signal: ExecSignal = "TERM") -> ExecInfo:
        """Sends ``signal`` (default TERM) to the exec's process group; FailedPreconditionError once it ended."""
        path = f"/v1/runtimes/{seg(runtime)}/execs/{seg(exec_id)}/signal"
        return ExecInfo.from_wire(self._http.json("POST", path, json_body={"signal": signal})["data"])

    def start(
        self,
        runtime: str,
        command: Command,
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        user: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> ExecInfo:
        """Starts a command detached and returns its exec object at once: output discarded, no timeout unless given,
        and it keeps running across a daemon restart. A string runs through ``sh -c``; a sequence as is."""
        body = {**_body(command, env, cwd, user, timeout), "detach": True}
        return ExecInfo.from_wire(self._http.json("POST", f"/v1/runtimes/{seg(runtime)}/execs", json_body=body)["data"])

    def run(
        self,
        runtime: str,
        command: Command,
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        user: Optional[str] = None,
        timeout: Optional[float] = None,
        on_stdout: Optional[OutputCallback] = None,
        on_stderr: Optional[OutputCallback] = None,
    ) -> StreamedExit:
        """Runs a command with its output streamed as it is produced, byte for byte: ``on_stdout``/``on_stderr`` get
        each chunk; without them the output is collected into the returned StreamedExit. No timeout unless
        ``timeout`` (seconds; the command's session is killed then). Closing the connection (an exception in a
        callback, say) makes the daemon kill the command."""
        out: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        sinks = {"stdout": on_stdout or out["stdout"].append, "stderr": on_stderr or out["stderr"].append}
        exec_id = ""
        # The client's read timeout does not apply: a quiet command may print nothing for a long time.
        with self._http.open(
            "POST",
            f"/v1/runtimes/{seg(runtime)}/execs",
            json_body=_body(command, env, cwd, user, timeout),
            headers={"Accept": EXEC_STREAM_CONTENT_TYPE},
            retry=False,
        ) as res:
            if not (res.getheader("Content-Type") or "").startswith(EXEC_STREAM_CONTENT_TYPE):
                raise InternalError("the daemon did not answer with an exec stream; is it a runta daemon of this version?")
            if res.conn.sock is not None:
                res.conn.sock.settimeout(None)
            while True:
                header = res.res.read(_HEADER.size)
                if not header:
                    break
                if len(header) < _HEADER.size:
                    raise UnavailableError(f"the exec stream from {self._http.endpoint} was cut mid-frame")
                kind_byte, size = _HEADER.unpack(header)
                kind = _KINDS.get(kind_byte)
                if kind is None or size > _MAX_PAYLOAD:
                    raise InternalError(f"the daemon's exec stream is malformed (frame kind {kind_byte}, {size} bytes)")
                payload = res.res.read(size)
                if len(payload) < size:
                    raise UnavailableError(f"the exec stream from {self._http.endpoint} was cut mid-frame")
                if kind in ("stdout", "stderr"):
                    sinks[kind](payload)
                    continue
                frame = json.loads(payload)
                if kind == "started":
                    exec_id = str(frame["exec_id"])
                elif kind == "error":
                    raise error_for_code(str(frame["code"]), str(frame["message"]))
                else:
                    return StreamedExit(
                        exec_id, int(frame["code"]), frame.get("signal"), bool(frame.get("oom_killed")), str(frame.get("ended_by", "exited")),
                        stdout=b"".join(out["stdout"]), stderr=b"".join(out["stderr"]),
                    )
        raise UnavailableError(f"the exec stream from {self._http.endpoint} ended before the command did (was the daemon stopped?)")

    def attach(self, runtime: str, exec_id: str, *, rows: Optional[int] = None, cols: Optional[int] = None) -> ExecStream:
        """Reattaches to a terminal session (``exec_stream(tty=True)``) whose connection dropped, within its grace
        period: the last 64 KiB of its output come first, then live output. See :meth:`ExecStream.attach`."""
        return ExecStream.attach(self._http, runtime, exec_id, rows=rows, cols=cols)
