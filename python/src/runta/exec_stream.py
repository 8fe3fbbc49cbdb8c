"""Streamed exec over the daemon's websocket (DESIGN §4; src/api/stream.ts): one command per connection, every frame
one JSON text message. The same protocol as the TypeScript SDK's ExecStream.

    with runtime.exec_stream(["sh"], tty=True, rows=24, cols=80) as shell:
        shell.write(b"stty size; exit 3\\n")
        for chunk in shell:              # StreamChunk(stream="stdout", data=b"...") until the command ends
            print(chunk.data.decode(), end="")
        print(shell.wait().code)         # 3
"""
from __future__ import annotations

import base64
import json
import queue
import threading
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Union, get_args

from ._websocket import OP_TEXT, ConnectionClosed, HandshakeRefused, ProtocolError, WebSocket
from .errors import InternalError, InvalidArgumentError, RuntaError, UnavailableError, error_for_code, error_from_response
from .models import StreamChunk, StreamExit, StreamSignal

if TYPE_CHECKING:
    from ._http import Transport

#: The daemon's websocket limits (src/api/limits.ts): largest frame it accepts, and its ping interval.
WS_MAX_PAYLOAD_BYTES = 1024 * 1024
WS_HEARTBEAT_SECS = 5.0
# Raw stdin bytes per frame, so that no frame exceeds the daemon's limit once base64-encoded (as the TS SDK splits).
_STDIN_CHUNK = WS_MAX_PAYLOAD_BYTES * 3 // 4 - 1024
_END = object()


class ExecStream:
    """A streamed command. Iterate it for output chunks; ``wait()`` for the exit (raising the typed error when the
    daemon refused or the connection was lost). Output not consumed by iteration is collected into the StreamExit.

    Writes go out at once (blocking while the daemon holds back unread stdin: about 1 MiB). A background thread reads
    the socket, answers the daemon's pings and declares the connection lost after ``heartbeat_timeout`` seconds
    (default 3 × the daemon's 5 s ping) without hearing from it.
    """

    def __init__(self, ws: WebSocket, endpoint: str, *, heartbeat_timeout: float = 3 * WS_HEARTBEAT_SECS) -> None:
        self._ws = ws
        self._endpoint = endpoint
        self._events: "queue.Queue[Union[StreamChunk, object]]" = queue.Queue()
        self._done = threading.Event()
        self._exit: Optional[StreamExit] = None
        self._error: Optional[RuntaError] = None
        self._closed_by_us = False
        self._stdin_closed = False
        self._drained = False
        self._out: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        ws.idle_timeout = heartbeat_timeout
        self._heartbeat_timeout = heartbeat_timeout
        self._reader = threading.Thread(target=self._read_loop, name="runta-exec-stream", daemon=True)
        #: The exec object's id, once the daemon said it (its ``started`` frame); at once when attaching.
        self.exec_id: Optional[str] = None

    @classmethod
    def open(
        cls,
        http: "Transport",
        runtime: str,
        command: Union[str, list[str]],
        *,
        tty: bool = False,
        rows: Optional[int] = None,
        cols: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        user: Optional[str] = None,
        grace_secs: Optional[int] = None,
    ) -> "ExecStream":
        """Connects (the token goes in the Authorization header, never the URL) and sends the ``start`` frame.

        A refused upgrade raises its typed error here (UnauthenticatedError, ResourceExhaustedError past 256 sessions,
        UnavailableError when the daemon cannot be reached); errors about the runtime or the command (NotFoundError for
        an unknown runtime, FailedPreconditionError for one that is not running) come from ``wait()`` and iteration.
        """
        from ._http import seg

        start: dict[str, Any] = {"type": "start", "command": command, "tty": tty}
        if env:
            start["env"] = dict(env)
        if cwd:
            start["cwd"] = cwd
        if rows:
            start["rows"] = rows
        if cols:
            start["cols"] = cols
        if user:
            start["user"] = user
        if grace_secs is not None:
            start["grace_secs"] = grace_secs
        stream = cls(cls._connect(http, http.url_path(f"/v1/runtimes/{seg(runtime)}/exec/stream")), http.endpoint)
        stream._send(start)
        stream._reader.start()
        return stream

    @classmethod
    def attach(cls, http: "Transport", runtime: str, exec_id: str, *, rows: Optional[int] = None, cols: Optional[int] = None) -> "ExecStream":
        """Reattaches to a terminal session whose client went away: the last 64 KiB of its output come first, then
        live output. Refusals (unknown exec: NotFoundError; ended, not a terminal, already attached:
        FailedPreconditionError) come from ``wait()`` and iteration."""
        from ._http import seg

        query = {"rows": rows, "cols": cols} if rows and cols else None
        path = http.url_path(f"/v1/runtimes/{seg(runtime)}/execs/{seg(exec_id)}/attach", query)
        stream = cls(cls._connect(http, path), http.endpoint)
        stream.exec_id = exec_id
        stream._reader.start()
        return stream

    @staticmethod
    def _connect(http: "Transport", path: str) -> WebSocket:
        headers = {k: v for k, v in http.headers().items() if k != "Accept"}
        host, port, tls = http.address()
        try:
            return WebSocket.connect(host, port, path, headers=headers, tls=tls, timeout=http.timeout)
        except HandshakeRefused as e:
            raise http.explain(error_from_response(e.status, e.body, e.headers.get("x-request-id"), http.endpoint)) from None
        except ProtocolError as e:
            raise InternalError(f"the server at {http.endpoint} broke the websocket handshake ({e}); is it a runta daemon?") from None
        except (OSError, ConnectionClosed) as e:
            raise http.unreachable(e) from None

    # -- input -------------------------------------------------------------------------------------------------

    def write(self, data: Union[bytes, str]) -> None:
        """Sends bytes (or UTF-8 text) to the command's stdin. Ignored after ``close_stdin()`` or the end."""
        if self._stdin_closed:
            return
        buf = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        for off in range(0, len(buf), _STDIN_CHUNK):
            self._send({"type": "stdin", "data_base64": base64.b64encode(buf[off : off + _STDIN_CHUNK]).decode("ascii")})

    def close_stdin(self) -> None:
        """End of input: the command reads EOF (without a tty; with one, write b"\\x04" as a terminal would)."""
        if self._stdin_closed:
            return
        self._stdin_closed = True
        self._send({"type": "close_stdin"})

    def resize(self, rows: int, cols: int) -> None:
        """Resizes the remote terminal (tty sessions); each dimension 1–1000."""
        if not (1 <= rows <= 1000 and 1 <= cols <= 1000):
            raise InvalidArgumentError(f"rows and cols must be between 1 and 1000 (got {rows}x{cols})")
        self._send({"type": "resize", "rows": int(rows), "cols": int(cols)})

    def signal(self, sig: StreamSignal) -> None:
        """Sends a signal (INT, TERM, KILL, HUP, QUIT, TSTP or WINCH) to the command's process group."""
        if sig not in get_args(StreamSignal):
            raise InvalidArgumentError(f"signal must be one of {', '.join(get_args(StreamSignal))} (got {sig!r})")
        self._send({"type": "signal", "signal": sig})

    def close(self) -> None:
        """Closes the connection: the daemon hangs up the command. ``wait()`` then raises unless it had exited."""
        if not self._done.is_set():
            self._closed_by_us = True
        self._ws.close(1000, "client closed")

    # -- output and the end --------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamChunk]:
        """Output chunks as they arrive, until the command ends; then raises what ``wait()`` would."""
        while True:
            item = self._events.get()
            if item is _END:
                self._events.put(_END)  # Later iterations and wait() see the end too.
                break
            assert isinstance(item, StreamChunk)
            yield item
        if self._error is not None:
            raise self._error

    def wait(self, timeout: Optional[float] = None) -> StreamExit:
        """Waits for the command to end and returns how, with the output that iteration did not consume.

        Raises the typed error the daemon sent (e.g. FailedPreconditionError for a runtime that is not running),
        UnavailableError when the connection was lost or closed first, and the builtin TimeoutError when
        ``timeout`` seconds pass (the stream goes on; wait again or ``close()``).
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"the streamed command did not end within {timeout:g} s")
        if not self._drained:
            self._drained = True
            while True:
                item = self._events.get()
                if item is _END:
                    self._events.put(_END)
                    break
                assert isinstance(item, StreamChunk)
                self._out[item.stream].append(item.data)
        if self._error is not None:
            raise self._error
        assert self._exit is not None
        return StreamExit(
            self._exit.code,
            self._exit.signal,
            self._exit.oom_killed,
            stdout=b"".join(self._out["stdout"]),
            stderr=b"".join(self._out["stderr"]),
        )

    @property
    def done(self) -> bool:
        """True once the command has ended (or the stream failed)."""
        return self._done.is_set()

    def __enter__(self) -> "ExecStream":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done.is_set():
            self.close()
            self._done.wait(5)

    def __repr__(self) -> str:
        state = "running" if not self._done.is_set() else ("failed" if self._error else f"exited {self._exit.code if self._exit else '?'}")
        return f"ExecStream({self._endpoint!r}, {state})"

    # -- internals -----------------------------------------------------------------------------------------------

    def _send(self, frame: Mapping[str, Any]) -> None:
        if self._done.is_set():
            return
        try:
            self._ws.send_text(json.dumps(frame, separators=(",", ":")))
        except OSError:
            pass  # The reader thread reports why the connection went.

    def _read_loop(self) -> None:
        try:
            while True:
                op, data = self._ws.recv()
                if op != OP_TEXT:
                    continue
                if self._handle(json.loads(data)):
                    break
            # The exit (or error) frame came: finish the closing handshake, briefly.
            self._ws.close(1000, "done")
            self._ws.idle_timeout = 2.0
            while True:
                self._ws.recv()
        except ConnectionClosed as e:
            self._fail_if_running(self._lost(e))
        except TimeoutError:
            self._fail_if_running(
                UnavailableError(f"no heartbeat from the runta daemon at {self._endpoint} for {self._heartbeat_timeout:g} s; the connection is lost")
            )
        except (ProtocolError, ValueError, KeyError, TypeError) as e:
            self._fail_if_running(InternalError(f"the daemon at {self._endpoint} broke the exec-stream protocol ({e}); are client and daemon versions in step?"))
        except BaseException as e:  # Never leave a waiter hanging, whatever happened.
            self._fail_if_running(InternalError(f"the exec stream failed: {e!r}"))
        finally:
            self._ws.shutdown()
            self._done.set()
            self._events.put(_END)

    def _handle(self, frame: Mapping[str, Any]) -> bool:
        """Handles one server frame; True when it ended the command."""
        kind = frame["type"]
        if kind in ("stdout", "stderr"):
            self._events.put(StreamChunk(kind, base64.b64decode(frame["data_base64"])))
            return False
        if kind == "started":
            self.exec_id = str(frame["exec_id"])
            return False
        if kind == "exit":
            self._exit = StreamExit(int(frame["code"]), frame.get("signal"), bool(frame.get("oom_killed", False)))
            return True
        if kind == "error":
            self._error = error_for_code(str(frame["code"]), str(frame["message"]))
            return True
        return False  # A frame type from a newer daemon: not ours to interpret.

    def _lost(self, e: ConnectionClosed) -> UnavailableError:
        if self._closed_by_us:
            return UnavailableError("the exec stream was closed before the command exited")
        why = f"code {e.code}{': ' + e.reason if e.reason else ''}"
        return UnavailableError(
            f"connection to the runta daemon at {self._endpoint} closed before the command exited ({why}); was the daemon stopped?"
        )

    def _fail_if_running(self, err: RuntaError) -> None:
        if self._exit is None and self._error is None:
            self._error = err
