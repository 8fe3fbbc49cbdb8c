"""Typed errors, endpoint/token resolution and where values came from, retries, timeouts, and token secrecy."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import runta
from conftest import Daemon


def test_one_error_class_per_api_code(daemon: Daemon) -> None:
    # daemon.error_codes is src/api/errors.ts ERROR_CODES, handed over by the daemon helper.
    assert sorted(runta.ERROR_CLASSES) == sorted(daemon.error_codes)
    for code, cls in runta.ERROR_CLASSES.items():
        assert issubclass(cls, runta.RuntaError) and cls.code == code and getattr(runta, cls.__name__) is cls


def test_daemon_errors_are_typed_with_message_and_request_id(client: runta.Runta, new_runtime: Callable[..., runta.Runtime]) -> None:
    with pytest.raises(runta.InvalidArgumentError) as bad:
        client.runtimes.create("py-too-big", memory_mib=10**7)
    assert bad.value.status == 422 and "memory_mib" in bad.value.message and "262144" in bad.value.message
    assert bad.value.request_id and bad.value.request_id.startswith("req_")
    with pytest.raises(runta.InvalidArgumentError):
        client.runtimes.create("bad name!")
    rt = new_runtime()
    with pytest.raises(runta.AlreadyExistsError) as dup:
        client.runtimes.create(rt.name)
    assert dup.value.status == 409 and rt.name in dup.value.message
    rt.stop()
    with pytest.raises(runta.FailedPreconditionError) as pre:
        rt.exec(["true"])
    assert "shutdown" in pre.value.message
    with pytest.raises(runta.NotFoundError):
        client.runtimes.pause("py-no-such-runtime")


def test_wrong_token_is_unauthenticated_and_never_shown(daemon: Daemon) -> None:
    secret = "not-the-token-" + "x" * 20
    c = runta.Runta(daemon.endpoint, secret)
    assert secret not in repr(c) and secret not in repr(c._http) and secret not in str(vars(c))
    with pytest.raises(runta.UnauthenticatedError) as e:
        c.version()
    assert e.value.status == 401 and "(token from the token argument)" in str(e.value)
    assert secret not in str(e.value) and secret not in repr(e.value)
    assert runta.Runta(daemon.endpoint, secret).health() is True  # health needs no token


def test_env_then_config_file_then_local_default(daemon: Daemon, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The config file.
    cfg = isolated_env / "config" / "runta" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(json.dumps({"endpoint": daemon.endpoint, "token": daemon.token}))
    c = runta.Runta()
    assert c.endpoint == daemon.endpoint and c.endpoint_origin == str(cfg) and c.version().api == "v1"
    # The environment wins over the file.
    dead = _dead_endpoint()
    monkeypatch.setenv("RUNTA_ENDPOINT", dead)
    with pytest.raises(runta.UnavailableError) as e:
        runta.Runta(max_retries=0).version()
    assert f"{dead} (from RUNTA_ENDPOINT" in str(e.value) and "is a runta daemon running there?" in str(e.value)
    assert daemon.token not in str(e.value)
    # The argument wins over both.
    assert runta.Runta(daemon.endpoint, daemon.token).version().api == "v1"
    # Nothing configured: the local daemon's address and token file (moved here by RUNTA_LISTEN / RUNTA_DATA_DIR).
    cfg.unlink()
    monkeypatch.delenv("RUNTA_ENDPOINT")
    monkeypatch.setenv("RUNTA_LISTEN", daemon.listen)
    monkeypatch.setenv("RUNTA_DATA_DIR", daemon.data_dir)
    local = runta.Runta()
    assert local.endpoint_origin == "the local daemon default" and local.version().api == "v1"
    # ... whose token is never sent anywhere else.
    monkeypatch.setenv("RUNTA_ENDPOINT", f"http://localhost:{daemon.listen.split(':')[1]}")
    with pytest.raises(runta.UnauthenticatedError) as no_token:
        runta.Runta().version()
    assert "no token configured: set RUNTA_TOKEN" in str(no_token.value)


def test_local_default_unreachable_says_how_to_start_it(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTA_LISTEN", _dead_endpoint().removeprefix("http://"))
    monkeypatch.setenv("RUNTA_DATA_DIR", str(isolated_env))
    with pytest.raises(runta.UnavailableError) as e:
        runta.Runta(max_retries=0).runtimes.get("x")
    assert "(from the local daemon default; Connection refused)" in str(e.value) and "runta daemon start" in str(e.value)


def test_bad_endpoint_and_config_are_invalid_arguments(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTA_ENDPOINT", "ftp://example")
    with pytest.raises(runta.InvalidArgumentError, match=r'"ftp://example" \(from RUNTA_ENDPOINT\)'):
        runta.Runta()
    monkeypatch.delenv("RUNTA_ENDPOINT")
    cfg = isolated_env / "config" / "runta" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("{not json")
    with pytest.raises(runta.InvalidArgumentError, match="is not valid JSON"):
        runta.Runta()


# -- retries and timeouts, against a scripted local HTTP server ---------------------------------------------------


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, body) of the server's script; records what it saw."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        server.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))  # type: ignore[attr-defined]
        status, body = server.script.pop(0) if server.script else (200, {"data": {"ok": True}})  # type: ignore[attr-defined]
        if status == 0:
            time.sleep(3)  # never answers in time
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", "req_scripted")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[http.server.HTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.script = []  # type: ignore[attr-defined]
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


UNAVAILABLE = (503, {"error": {"code": "unavailable", "message": "starting"}, "request_id": "req_1"})
RUNTIME = {
    "id": "00000000-0000-4000-8000-000000000000", "name": "w", "status": "running", "image": "default",
    "resources": {"requests": {"vcpus": 1, "memory_mib": 1024}}, "env_names": [], "labels": {},
    "created_at": "t", "updated_at": "t", "started_at": None, "revision": 1, "last_error": None,
    "idle_timeout_secs": None, "last_activity_at": None,
}


def test_idempotent_requests_are_retried_on_503_and_others_are_not(scripted: http.server.HTTPServer) -> None:
    url = f"http://127.0.0.1:{scripted.server_address[1]}"
    c = runta.Runta(url, "tok")
    scripted.script[:] = [UNAVAILABLE, UNAVAILABLE, (200, {"data": RUNTIME})]  # type: ignore[attr-defined]
    assert c.runtimes.get("w").name == "w" and len(scripted.seen) == 3  # type: ignore[attr-defined]
    scripted.seen.clear(); scripted.script[:] = [UNAVAILABLE, (200, {"data": RUNTIME})]  # type: ignore[attr-defined]
    with pytest.raises(runta.UnavailableError) as e:
        c.runtimes.create("w")  # POST without an idempotency key: once
    assert len(scripted.seen) == 1 and e.value.request_id == "req_1"  # type: ignore[attr-defined]
    scripted.seen.clear(); scripted.script[:] = [UNAVAILABLE, (201, {"data": RUNTIME})]  # type: ignore[attr-defined]
    assert c.runtimes.create("w", idempotency_key="k").id == RUNTIME["id"]
    assert len(scripted.seen) == 2 and scripted.seen[1][2]["Idempotency-Key"] == "k"  # type: ignore[attr-defined]
    scripted.seen.clear(); scripted.script[:] = [UNAVAILABLE, (200, {"data": {}})]  # type: ignore[attr-defined]
    with pytest.raises(runta.UnavailableError):
        c.runtimes.exec("w", ["true"])  # exec is not idempotent
    assert len(scripted.seen) == 1  # type: ignore[attr-defined]
    scripted.seen.clear(); scripted.script[:] = [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, (200, {"data": RUNTIME})]  # type: ignore[attr-defined]
    with pytest.raises(runta.UnavailableError):
        c.runtimes.pause("w")  # lifecycle verbs are idempotent: retried twice, then the 503 stands
    assert len(scripted.seen) == 3  # type: ignore[attr-defined]


def test_every_request_has_a_timeout(scripted: http.server.HTTPServer) -> None:
    url = f"http://127.0.0.1:{scripted.server_address[1]}"
    scripted.script[:] = [(0, None)]  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(runta.DeadlineExceededError, match="within 0.5 s"):
        runta.Runta(url, "tok", timeout=0.5).version()
    assert time.monotonic() - started < 2.5 and len(scripted.seen) == 1  # type: ignore[attr-defined]


def test_a_server_that_is_not_runta_is_named(scripted: http.server.HTTPServer) -> None:
    url = f"http://127.0.0.1:{scripted.server_address[1]}"
    scripted.script[:] = [(404, ["not", "an", "envelope"])]  # type: ignore[attr-defined]
    with pytest.raises(runta.NotFoundError, match=f"the server at {url} answered HTTP 404 without a runta error"):
        runta.Runta(url, "tok").runtimes.get("w")


def _dead_endpoint() -> str:
    """A loopback port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
