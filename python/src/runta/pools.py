"""``runta.pools``: warm pools, runtimes the daemon keeps booted so that a create of their shape takes one.

A pool is a shape (image, vcpus, memory) and a size (``min`` kept booted, ``max`` at most). A create whose image and
resources equal a pool's (and that asks for nothing a booted runtime cannot take on: a restore, another network
mode, an egress policy, another disk size) gets one of its members, named and configured as asked. Pools are
returned as the API's JSON objects (``name``, ``image``, ``resources``, ``min``, ``max``, ``ready``, ``booting``).
"""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
from typing import Any, Optional

from . import _wire
from ._http import Transport, seg


class Pools:
    """``runta.pools``: set (create or change), list and remove warm pools."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every pool with its ready and booting members."""
        return list(self._http.json("GET", "/v1/pools")["data"])

    def set(
        self,
        name: str,
        *,
        min: int,
        max: Optional[int] = None,
        image: Optional[str] = None,
        vcpus: Optional[float] = None,
        memory_mib: Optional[int] = None,
    ) -> dict[str, Any]:
        """Creates or changes a pool; ``max`` defaults to ``min``, the shape to a create's defaults."""
        requests = _wire.requests(vcpus, memory_mib, None)
        body = _wire.body(min=min, max=max, image=image, resources={"requests": requests} if requests else None)
        return dict(self._http.json("PUT", f"/v1/pools/{seg(name)}", json_body=body)["data"])

    def remove(self, name: str) -> dict[str, Any]:
        """Removes a pool and its waiting members."""
        return dict(self._http.json("DELETE", f"/v1/pools/{seg(name)}")["data"])
