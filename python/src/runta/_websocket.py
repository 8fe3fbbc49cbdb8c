"""A small RFC 6455 websocket client over socket/ssl: the standard library has none, and the exec stream needs one.

What it does: the opening handshake (with Sec-WebSocket-Accept checked, and a refused upgrade's HTTP answer handed back
whole so the caller can rebuild the typed error), masked client frames, fragmented messages in both directions,
ping → pong, the closing handshake, and the protocol checks a client owes (no masked or reserved-bit frames from the
server, control frames short and unfragmented, text that is UTF-8, messages of bounded size). No extensions, no
subprotocols. Sends may come from any thread (one lock); receives belong to one thread.
"""
from __future__ import annotations

import base64
import hashlib
import os
import select
import socket
import ssl
import struct
import threading
from typing import Mapping, Optional

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_HEADER_BYTES = 64 * 1024


class HandshakeRefused(Exception):
    """The server answered the upgrade with something other than 101 (the HTTP status, headers and body)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        super().__init__(f"websocket upgrade refused with HTTP {status}")
        self.status = status
        self.headers = dict(headers)
        self.body = body


class ProtocolError(Exception):
    """The peer broke RFC 6455 (the connection is closed with 1002, or 1007 for bad UTF-8)."""


class ConnectionClosed(Exception):
    """The connection ended: a close frame (its code and reason) or, with code 1006, a connection lost without one."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"websocket closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value the server must send for ``key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def mask(key: bytes, data: bytes) -> bytes:
    """XORs ``data`` with the 4-byte ``key`` repeated (one big-integer XOR: fast for megabytes)."""
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask_key: Optional[bytes] = None) -> bytes:
    """One client frame (masked with ``mask_key``, random by default)."""
    key = os.urandom(4) if mask_key is None else mask_key
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + key + mask(key, payload)


class WebSocket:
    """One client connection. Build it with :meth:`connect`."""

    def __init__(self, sock: socket.socket, buffered: bytes, *, max_message_bytes: int) -> None:
        self._sock = sock
        self._buf = bytearray(buffered)
        self._send_lock = threading.Lock()
        self._close_sent = False
        self.max_message_bytes = max_message_bytes
        #: Seconds without any byte from the server before ``recv`` raises TimeoutError (None: wait for ever).
        self.idle_timeout: Optional[float] = None

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        path: str,
        *,
        headers: Mapping[str, str],
        tls: Optional[ssl.SSLContext] = None,
        timeout: float = 30.0,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> "WebSocket":
        """Opens the connection and performs the opening handshake within ``timeout`` seconds.

        Raises HandshakeRefused for a non-101 answer, ProtocolError for a bad 101, OSError for network failures.
        """
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=host)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            default_port = 443 if tls is not None else 80
            host_header = f"[{host}]" if ":" in host else host
            if port != default_port:
                host_header += f":{port}"
            lines = [
                f"GET {path} HTTP/1.1",
                f"Host: {host_header}",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
                *(f"{k}: {v}" for k, v in headers.items()),
            ]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            status, resp_headers, rest = _read_http_head(sock)
            if status != 101:
                raise HandshakeRefused(status, resp_headers, _read_http_body(sock, resp_headers, rest))
            if resp_headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in resp_headers.get("connection", "").lower():
                raise ProtocolError("the server answered 101 without upgrading to websocket")
            if resp_headers.get("sec-websocket-accept") != accept_key(key):
                raise ProtocolError("the server's Sec-WebSocket-Accept does not match the key sent")
            if resp_headers.get("sec-websocket-extensions"):
                raise ProtocolError("the server chose an extension the client did not offer")
            # From here on sends block (backpressure) and receives wait with select() and idle_timeout.
            sock.settimeout(None)
            return cls(sock, rest, max_message_bytes=max_message_bytes)
        except BaseException:
            sock.close()
            raise

    # -- sending -------------------------------------------------------------------------------------------------

    def send_text(self, text: str, *, fragment_size: Optional[int] = None) -> None:
        """Sends a text message, split into frames of at most ``fragment_size`` bytes when given."""
        self.send_message(OP_TEXT, text.encode("utf-8"), fragment_size=fragment_size)

    def send_message(self, opcode: int, data: bytes, *, fragment_size: Optional[int] = None) -> None:
        """Sends a text or binary message, fragmented when ``fragment_size`` is smaller than it."""
        size = fragment_size or len(data) or 1
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        frames = b"".join(
            encode_frame(opcode if i == 0 else OP_CONT, chunk, fin=i == len(chunks) - 1) for i, chunk in enumerate(chunks)
        )
        self._send_raw(frames)

    def ping(self, payload: bytes = b"") -> None:
        """Sends a ping (at most 125 bytes)."""
        if len(payload) > 125:
            raise ValueError("a ping carries at most 125 bytes")
        self._send_raw(encode_frame(OP_PING, payload))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Starts the closing handshake (once); the peer's close frame then ends ``recv`` with ConnectionClosed."""
        if self._close_sent:
            return
        self._close_sent = True
        try:
            self._send_raw(encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:123]))
        except OSError:
            pass  # Already gone: recv reports how.

    def shutdown(self) -> None:
        """Drops the TCP connection (also wakes a thread blocked in a send)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _send_raw(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    # -- receiving -----------------------------------------------------------------------------------------------

    def recv(self) -> tuple[int, bytes]:
        """The next whole message as (OP_TEXT or OP_BINARY, payload). Pings are answered on the way.

        Raises ConnectionClosed when the peer closes (after answering its close frame) or the connection drops,
        ProtocolError when the peer breaks the protocol (after closing with 1002/1007), and TimeoutError after
        ``idle_timeout`` seconds without a byte.
        """
        opcode: Optional[int] = None
        parts: list[bytes] = []
        total = 0
        while True:
            fin, op, payload = self._read_frame()
            if op >= 0x8:
                self._control(op, payload)
                continue
            if op == OP_CONT:
                if opcode is None:
                    self._fail(1002, "a continuation frame with no message to continue")
            elif op in (OP_TEXT, OP_BINARY):
                if opcode is not None:
                    self._fail(1002, "a new message began inside a fragmented one")
                opcode = op
            else:
                self._fail(1002, f"unknown opcode {op:#x}")
            total += len(payload)
            if total > self.max_message_bytes:
                self._fail(1009, f"a message larger than {self.max_message_bytes} bytes")
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                if opcode == OP_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        self._fail(1007, "a text message that is not UTF-8")
                assert opcode is not None
                return opcode, data

    def _control(self, op: int, payload: bytes) -> None:
        if op == OP_PING:
            try:
                self._send_raw(encode_frame(OP_PONG, payload))
            except OSError:
                pass  # The read side will see the connection go.
        elif op == OP_PONG:
            pass
        elif op == OP_CLOSE:
            if len(payload) == 1:
                self._fail(1002, "a close frame with a 1-byte payload")
            code = struct.unpack("!H", payload[:2])[0] if payload else 1005
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                self._fail(1007, "a close reason that is not UTF-8")
            # Echo the code (RFC 6455 §5.5.1), unless we started the close ourselves.
            self.close(code if payload and code not in (1005, 1006, 1015) else 1000)
            raise ConnectionClosed(code, reason)
        else:
            self._fail(1002, f"unknown control opcode {op:#x}")

    def _read_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read_exact(2)
        fin, rsv, op = bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F
        masked, n = bool(b1 & 0x80), b1 & 0x7F
        if rsv:
            self._fail(1002, "reserved bits set (no extension was agreed)")
        if masked:
            self._fail(1002, "a masked frame from the server")
        if op >= 0x8 and (not fin or n > 125):
            self._fail(1002, "a fragmented or oversized control frame")
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
            if n >> 63:
                self._fail(1002, "a frame length with the top bit set")
        if n > self.max_message_bytes:
            self._fail(1009, f"a frame larger than {self.max_message_bytes} bytes")
        return fin, op, self._read_exact(n)

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            pending = isinstance(self._sock, ssl.SSLSocket) and self._sock.pending() > 0
            if self.idle_timeout is not None and not pending:
                ready, _, _ = select.select([self._sock], [], [], self.idle_timeout)
                if not ready:
                    raise TimeoutError(f"nothing from the server for {self.idle_timeout:g} s")
            try:
                chunk = self._sock.recv(256 * 1024)
            except OSError as e:
                raise ConnectionClosed(1006, f"connection lost: {e.strerror or e}") from None
            if not chunk:
                raise ConnectionClosed(1006, "connection lost without a close frame")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _fail(self, code: int, why: str) -> None:
        self.close(code, why)
        raise ProtocolError(why)


def _read_http_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionClosed(1006, "the server closed the connection during the websocket handshake")
        buf += chunk
        if len(buf) > _MAX_HEADER_BYTES:
            raise ProtocolError("the handshake answer's headers are too large")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP answer to the websocket upgrade: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


def _read_http_body(sock: socket.socket, headers: Mapping[str, str], rest: bytes) -> bytes:
    """The body of a refused upgrade (Content-Length, else up to the connection's end; at most 64 KiB)."""
    length = headers.get("content-length")
    want = min(int(length), _MAX_HEADER_BYTES) if length and length.isdigit() else _MAX_HEADER_BYTES
    body = rest
    try:
        while len(body) < want:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
    except OSError:
        pass  # What arrived is what the caller gets.
    return body[:want]
