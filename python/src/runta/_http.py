"""The HTTP transport: one place that adds the token, encodes bodies, applies the timeout, maps errors through the one
factory (errors.error_from_response) and retries idempotent requests — GET/HEAD/PUT/DELETE, POSTs carrying an
Idempotency-Key, and routes the caller marks idempotent — on connection failures and 503, never anything else.

Standard library only (http.client). Each request opens its own connection: the daemon closes idle keep-alive
connections after 5 s, and reusing one that the daemon is closing could send a non-idempotent request twice.
"""
from __future__ import annotations

import http.client
import json
import ssl
import time
from dataclasses import dataclass
from typing import IO, Any, Iterator, Mapping, Optional, Union
from urllib.parse import quote, urlencode, urlsplit

from . import __version__
from ._config import Resolved
from .errors import DeadlineExceededError, InternalError, RuntaError, UnavailableError, error_from_response

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_BACKOFF_SECS = (0.1, 0.3)

Body = Union[bytes, IO[bytes], None]


def seg(value: str) -> str:
    """One path segment (a name or id), percent-encoded."""
    return quote(value, safe="")


@dataclass
class Response:
    """A successful response, read whole."""

    status: int
    request_id: Optional[str]
    body: bytes

    def envelope(self, endpoint: str) -> dict[str, Any]:
        """The parsed ``{"data": …, "pagination"?: …}`` envelope."""
        try:
            parsed = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            parsed = None
        if not isinstance(parsed, dict) or "data" not in parsed:
            raise InternalError(
                f"the daemon at {endpoint} sent a response that is not a runta envelope; is it a runta daemon?",
                status=self.status,
                request_id=self.request_id,
            )
        return parsed


class Transport:
    """HTTP transport bound to one endpoint and token. The token is kept out of ``repr``."""

    def __init__(self, resolved: Resolved, *, timeout: float, max_retries: int) -> None:
        self._resolved = resolved
        parts = urlsplit(resolved.endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._base_path = parts.path.rstrip("/")
        self._ssl = ssl.create_default_context() if self._https else None
        self.timeout = timeout
        self.max_retries = max(0, max_retries)

    def __repr__(self) -> str:
        return f"Transport(endpoint={self.endpoint!r})"

    @property
    def endpoint(self) -> str:
        return self._resolved.endpoint

    @property
    def resolved(self) -> Resolved:
        return self._resolved

    def address(self) -> "tuple[str, int, Optional[ssl.SSLContext]]":
        """Host, port and TLS context of the endpoint (the websocket connects there itself)."""
        return self._host, self._port, self._ssl

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        """A new HTTP connection to the endpoint."""
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def headers(self) -> dict[str, str]:
        """The headers every request carries: auth (when there is a token) and the SDK's user agent."""
        h = {"Accept": "application/json", "User-Agent": f"runta-python/{__version__}"}
        if self._resolved.token:
            h["Authorization"] = f"Bearer {self._resolved.token}"
        return h

    def url_path(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        q = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        return self._base_path + path + (f"?{urlencode(q)}" if q else "")

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        """Sends a request (the options of :meth:`open`) and reads the whole response; error statuses raise typed errors."""
        with self.open(method, path, **kwargs) as res:
            return Response(res.status, res.getheader("X-Request-Id"), self._read(res, kwargs.get("timeout")))

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Sends a request and returns the parsed ``{"data", "pagination"?}`` envelope."""
        return self.request(method, path, **kwargs).envelope(self.endpoint)

    def open(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        body: Body = None,
        content_type: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        retry: Optional[bool] = None,
        timeout: Optional[float] = None,
    ) -> "_OpenResponse":
        """Sends a request and returns the open response once its status is a success (for streamed bodies).

        ``timeout`` (default: the client's) bounds the connect and each read, not the whole response.
        """
        timeout = self.timeout if timeout is None else timeout
        h = self.headers()
        h.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            h["Content-Type"] = "application/json"
        elif content_type:
            h["Content-Type"] = content_type
        retryable = retry if retry is not None else (method in _IDEMPOTENT or "Idempotency-Key" in h)
        # A file body cannot be sent twice.
        retryable = retryable and (body is None or isinstance(body, bytes))
        url = self.url_path(path, query)
        attempt = 0
        while True:
            conn = self.connection(timeout)
            try:
                conn.connect()
            except OSError as e:
                conn.close()
                if retryable and self._backoff(attempt):
                    attempt += 1
                    continue
                raise self.unreachable(e) from None
            try:
                conn.request(method, url, body=body, headers=h)
                res = conn.getresponse()
            except TimeoutError:
                conn.close()
                raise DeadlineExceededError(
                    f"the runta daemon at {self.endpoint} did not answer {method} {path} within {timeout:g} s "
                    "(the client's timeout); the operation may still complete"
                ) from None
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if retryable and self._backoff(attempt):
                    attempt += 1
                    continue
                raise self.unreachable(e) from None
            if 200 <= res.status < 300:
                return _OpenResponse(conn, res)
            try:
                payload = self._read(res, timeout)
            finally:
                conn.close()
            if res.status == 503 and retryable and self._backoff(attempt):
                attempt += 1
                continue
            raise self.explain(error_from_response(res.status, payload, res.getheader("X-Request-Id"), self.endpoint))

    def _backoff(self, attempt: int) -> bool:
        """Sleeps before retry ``attempt + 1``; False when the retries are used up."""
        if attempt >= self.max_retries:
            return False
        time.sleep(_BACKOFF_SECS[min(attempt, len(_BACKOFF_SECS) - 1)])
        return True

    def unreachable(self, cause: BaseException) -> UnavailableError:
        """The error for a failed connection: where the endpoint came from, and what to do."""
        r = self._resolved
        why = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
        fix = "is it running? start it with 'runta daemon start'" if r.local else "is a runta daemon running there? check the endpoint"
        return UnavailableError(f"cannot reach the runta daemon at {r.endpoint} (from {r.endpoint_origin}; {why}): {fix}")

    def explain(self, err: RuntaError) -> RuntaError:
        """Adds what only the client knows: where the (wrong or missing) token came from. Never the token itself."""
        if err.code == "unauthenticated":
            r = self._resolved
            err.message = f"{err.message} (token from {r.token_origin})" if r.token else f"{err.message} — {r.token_origin}"
            err.args = (err.message,)
        return err

    def _read(self, res: "http.client.HTTPResponse | _OpenResponse", timeout: Optional[float]) -> bytes:
        try:
            return res.read()
        except TimeoutError:
            raise DeadlineExceededError(f"the runta daemon at {self.endpoint} stopped sending its answer for {timeout or self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise self.unreachable(e) from None


class _OpenResponse:
    """A successful response whose body is still to be read; closes its connection on exit."""

    def __init__(self, conn: http.client.HTTPConnection, res: http.client.HTTPResponse) -> None:
        self.conn = conn
        self.res = res
        self.status = res.status

    def getheader(self, name: str) -> Optional[str]:
        return self.res.getheader(name)

    def read(self) -> bytes:
        return self.res.read()

    def lines(self) -> Iterator[bytes]:
        """The body line by line (NDJSON)."""
        while True:
            line = self.res.readline()
            if not line:
                return
            yield line

    def __enter__(self) -> "_OpenResponse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
