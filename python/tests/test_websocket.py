"""The RFC 6455 client against a scripted peer: what the daemon never sends (fragmented messages, pings with
payloads, protocol violations) is sent here byte by byte, and what the client answers is checked on the wire."""
from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
import time
from typing import Callable, Iterator

import pytest

from runta._websocket import (
    GUID, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,
    ConnectionClosed, HandshakeRefused, ProtocolError, WebSocket, accept_key, encode_frame, mask,
)


def server_frame(op: int, payload: bytes, *, fin: bool = True, masked: bool = False, rsv: int = 0) -> bytes:
    """A frame as a server writes it (unmasked unless told otherwise)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv | op])
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 1 << 16:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    return head + (b"\0\0\0\0" + payload if masked else payload)


def read_client_frame(conn: socket.socket) -> tuple[bool, int, bytes]:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            assert chunk, "client hung up"
            buf += chunk
        return buf

    b0, b1 = exact(2)
    assert b1 & 0x80, "client frames must be masked"
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    key = exact(4)
    return bool(b0 & 0x80), b0 & 0x0F, mask(key, exact(n))


Script = Callable[[socket.socket], None]


@pytest.fixture
def peer() -> Iterator[Callable[[Script], tuple[str, int]]]:
    """Starts a one-connection server that completes the handshake (unless the script answers it) and runs a script."""
    servers: list[socket.socket] = []
    errors: list[BaseException] = []
    threads: list[threading.Thread] = []

    def start(script: Script, handshake: bool = True) -> tuple[str, int]:
        srv = socket.create_server(("127.0.0.1", 0))
        servers.append(srv)

        def run() -> None:
            conn, _ = srv.accept()
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                if handshake:
                    key = next(l.split(b":", 1)[1].strip() for l in request.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key"))
                    acc = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
                    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
                script(conn)
            except BaseException as e:  # reported by the test's teardown
                errors.append(e)
            finally:
                conn.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)
        return srv.getsockname()[:2]

    yield start
    for t in threads:
        t.join(10)
    for s in servers:
        s.close()
    if errors:
        raise errors[0]


def connect(addr: tuple[str, int]) -> WebSocket:
    ws = WebSocket.connect(addr[0], addr[1], "/x", headers={"Authorization": "Bearer t"}, timeout=5)
    ws.idle_timeout = 5
    return ws


def test_accept_key_is_rfc_6455s_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_frames_are_masked_with_the_right_lengths() -> None:
    for n in (0, 125, 126, 65535, 65536):
        frame = encode_frame(OP_BINARY, b"a" * n, mask_key=b"\1\2\3\4")
        header = {0: 2, 125: 2, 126: 4, 65535: 4, 65536: 10}[n]
        assert frame[1] & 0x80 and len(frame) == header + 4 + n
        assert mask(b"\1\2\3\4", frame[header + 4 :]) == b"a" * n


def test_fragments_with_a_ping_between_them_and_the_closing_handshake(peer: Callable[..., tuple[str, int]]) -> None:
    seen: list[tuple[bool, int, bytes]] = []

    def script(conn: socket.socket) -> None:
        conn.sendall(server_frame(OP_TEXT, b"hel", fin=False) + server_frame(OP_PING, b"are you there")
                     + server_frame(OP_CONT, b"lo ", fin=False) + server_frame(OP_CONT, "wörld".encode(), fin=True))
        seen.append(read_client_frame(conn))  # the pong
        conn.sendall(server_frame(OP_BINARY, bytes(70_000)))
        fin, op, payload = read_client_frame(conn)  # the client's fragmented message
        while not fin:
            more = read_client_frame(conn)
            assert more[1] == OP_CONT
            fin, payload = more[0], payload + more[2]
        seen.append((fin, op, payload))
        conn.sendall(server_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye"))
        seen.append(read_client_frame(conn))  # the close echo

    ws = connect(peer(script))
    assert ws.recv() == (OP_TEXT, "hello wörld".encode())
    assert ws.recv() == (OP_BINARY, bytes(70_000))
    ws.send_text("x" * 300, fragment_size=100)
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv()
    assert (closed.value.code, closed.value.reason) == (1000, "bye")
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:  # the peer reads the close echo
        time.sleep(0.01)
    ws.shutdown()
    assert len(seen) == 3 and seen[0] == (True, OP_PONG, b"are you there")
    assert seen[1] == (True, OP_TEXT, b"x" * 300)
    assert seen[2][1] == OP_CLOSE and seen[2][2][:2] == struct.pack("!H", 1000)


@pytest.mark.parametrize(
    "frame, code",
    [
        (server_frame(OP_TEXT, b"hi", masked=True), 1002),
        (server_frame(OP_TEXT, b"hi", rsv=0x40), 1002),
        (server_frame(OP_PING, b"x", fin=False), 1002),
        (server_frame(OP_CONT, b"x"), 1002),
        (server_frame(OP_TEXT, b"\xff\xfe"), 1007),
        (server_frame(0x3, b""), 1002),
    ],
    ids=["masked", "reserved-bits", "fragmented-ping", "orphan-continuation", "bad-utf8", "unknown-opcode"],
)
def test_protocol_violations_close_with_the_right_code(peer: Callable[..., tuple[str, int]], frame: bytes, code: int) -> None:
    got: list[tuple[bool, int, bytes]] = []

    def script(conn: socket.socket) -> None:
        conn.sendall(frame)
        got.append(read_client_frame(conn))

    ws = connect(peer(script))
    with pytest.raises(ProtocolError):
        ws.recv()
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:  # let the peer read the close frame before the socket goes
        time.sleep(0.01)
    ws.shutdown()
    assert got and got[0][1] == OP_CLOSE and struct.unpack("!H", got[0][2][:2])[0] == code


def test_a_refused_upgrade_hands_back_status_and_body(peer: Callable[..., tuple[str, int]]) -> None:
    body = b'{"error":{"code":"unauthenticated","message":"missing or wrong token"},"request_id":"req_x"}'

    def script(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nX-Request-Id: req_x\r\n\r\n" + body)

    with pytest.raises(HandshakeRefused) as e:
        connect(peer(script, handshake=False))
    assert e.value.status == 401 and e.value.body == body and e.value.headers["x-request-id"] == "req_x"


def test_a_wrong_accept_key_is_refused(peer: Callable[..., tuple[str, int]]) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n")

    with pytest.raises(ProtocolError, match="Sec-WebSocket-Accept"):
        connect(peer(script, handshake=False))


def test_silence_and_a_dropped_connection_are_told_apart(peer: Callable[..., tuple[str, int]]) -> None:
    gate = threading.Event()
    ws = connect(peer(lambda conn: gate.wait(5)))
    ws.idle_timeout = 0.3
    with pytest.raises(TimeoutError):
        ws.recv()
    gate.set()
    with pytest.raises(ConnectionClosed) as e:
        ws.recv()
    assert e.value.code == 1006
    ws.shutdown()
