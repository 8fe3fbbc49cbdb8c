"""``Runta``: the Python client of the daemon's REST API v1 (the TypeScript SDK's shape, in Python style).
Its parts live beside it: ``runtimes.py`` (``runta.runtimes``, the ``Runtime`` handle), ``images.py``, ``execs.py``,
``checkpoints.py``."""
from __future__ import annotations

import json
from typing import Any, Optional

from ._config import resolve
from ._http import Transport
from .errors import InternalError, RuntaError
from .checkpoints import Checkpoints
from .pools import Pools
from .secrets import Secrets
from .execs import Execs
from .images import Images
from .models import DashboardLink, VersionInfo
from .runtimes import Runtimes
from .volumes import Volumes


class Runta:
    """The runta client. ``Runta()`` resolves the endpoint and token as the CLI does: arguments, then
    ``RUNTA_ENDPOINT``/``RUNTA_TOKEN``, then ``~/.config/runta/config.json``, then the local daemon
    (``http://127.0.0.1:7420`` with the token in ``/var/lib/runta/token``).

    ``timeout`` (default 60 s) bounds the connect and each read of every request (a buffered exec waits its own
    timeout plus 30 s). ``max_retries`` (default 2) applies to idempotent requests only, on connection failures and
    503. The token never appears in ``repr()`` or in errors. Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        token: Optional[str] = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        self._http = Transport(resolve(endpoint, token), timeout=timeout, max_retries=max_retries)
        #: Runtimes: create, list, get and every verb.
        self.runtimes = Runtimes(self._http)
        #: Images: list, build, import, remove.
        self.images = Images(self._http)
        #: Checkpoints: list, get, restore (fork), remove; taken with ``runtimes.checkpoint``.
        self.checkpoints = Checkpoints(self._http, self.runtimes)
        #: Warm pools: runtimes kept booted for creates of their shape.
        self.pools = Pools(self._http)
        #: Secrets (set, list, get, remove; values never come back) and runtimes' injection rules.
        self.secrets = Secrets(self._http)
        #: Exec objects: list, get, signal, start detached, run streamed, attach.
        self.execs = Execs(self._http)
        #: Volumes: create, list, get, remove; mounted with ``runtimes.create(volumes=[...])``.
        self.volumes = Volumes(self._http)

    @property
    def endpoint(self) -> str:
        """The daemon URL in use."""
        return self._http.endpoint

    @property
    def endpoint_origin(self) -> str:
        """Where the endpoint came from (e.g. "RUNTA_ENDPOINT", "the local daemon default")."""
        return self._http.resolved.endpoint_origin

    def __repr__(self) -> str:
        return f"Runta(endpoint={self.endpoint!r}, from={self.endpoint_origin!r})"

    def version(self) -> VersionInfo:
        """Versions of runta, runc, the kernel and node on the daemon's host."""
        return VersionInfo.from_wire(self._http.json("GET", "/v1/version")["data"])

    def ingress(self) -> dict[str, Any]:
        """Where the daemon's ingress listens (``listen``, ``domain``) and the CA (``ca_certificate``, PEM) of its https URLs."""
        data: dict[str, Any] = self._http.json("GET", "/v1/ingress")["data"]
        return data

    def dashboard_login(self) -> DashboardLink:
        """A one-time login link to the web dashboard at ``<endpoint>/ui/`` (what ``runta dashboard`` prints)."""
        return DashboardLink.from_wire(self._http.json("POST", "/v1/dashboard/login")["data"], self.endpoint)

    def health(self, timeout: float = 1.0) -> bool:
        """True when ``/v1/health`` answers within ``timeout`` seconds (default 1). Never raises."""
        try:
            self._http.json("GET", "/v1/health", retry=False, timeout=timeout)
            return True
        except RuntaError:
            return False

    def openapi(self) -> dict[str, Any]:
        """The daemon's OpenAPI document (generated from src/api)."""
        res = self._http.request("GET", "/v1/openapi.json")
        try:
            doc = json.loads(res.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InternalError("the daemon's OpenAPI document is not JSON", request_id=res.request_id) from None
        if not isinstance(doc, dict):
            raise InternalError("the daemon's OpenAPI document is not a JSON object", request_id=res.request_id)
        return doc

    def close(self) -> None:
        """Releases the client. Connections are per request, so nothing stays open; kept for ``with`` and symmetry."""

    def __enter__(self) -> "Runta":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
