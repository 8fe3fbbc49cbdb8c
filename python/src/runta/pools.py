"""``runta.pools``: warm pools, runtimes the daemon keeps booted so that a create of their shape takes one.

A pool is a shape (image, vcpus, memory) and a size (``min`` kept booted, ``max`` at most). A create whose image and
resources equal a pool's (and that asks for nothing a booted runtime cannot take on: a restore, another network
mode, an egress policy, another disk size) gets one of its members, named and configured as asked. Pools are
returned as the API's JSON objects (``name``, ``image``, ``resources``, ``min``, ``max``, ``ready``, ``booting``).
"""
from __future__ import annotations

from typing import Any, Optional

from ._http import Transport, seg


class Pools:
    """``runta.pools``: set (create or change), list and remove warm pools."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(self) -> list[dict[str, Any]]:
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
        body: dict[str, Any] = {"min": min}
        if max is not None:
            body["max"] = max
        if image is not None:
            body["image"] = image
        requests = {k: v for k, v in (("vcpus", vcpus), ("memory_mib", memory_mib)) if v is not None}
        if requests:
            body["resources"] = {"requests": requests}
        return dict(self._http.json("PUT", f"/v1/pools/{seg(name)}", json_body=body)["data"])

    def remove(self, name: str) -> dict[str, Any]:
        """Removes a pool and its waiting members."""
        return dict(self._http.json("DELETE", f"/v1/pools/{seg(name)}")["data"])
