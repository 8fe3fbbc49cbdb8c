"""``runta.volumes``: named, persistent directories that outlive runtimes and mount into several at once.

Each is its own ext4 disk on the daemon's host: ``size_mib`` bounds what it holds (writes past it fail with ENOSPC).
Mount one with ``runtimes.create(..., volumes=[VolumeMount("data", "/work")])``.
"""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
from typing import Optional

from . import _wire
from ._http import Transport, seg
from .models import Volume


class Volumes:
    """``runta.volumes``: create, list, get and remove volumes by name or id."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(self, name: str, *, size_mib: Optional[int] = None) -> Volume:
        """Creates volume ``name`` (default size 10240 MiB); its disk is formatted and mounted when this returns."""
        body = _wire.body(name=name, size_mib=size_mib)
        return Volume.from_wire(self._http.json("POST", "/v1/volumes", json_body=body)["data"])

    def list(self) -> builtins.list[Volume]:
        """Every volume, oldest first, with the runtimes that mount it."""
        return [Volume.from_wire(v) for v in self._http.json("GET", "/v1/volumes")["data"]]

    def get(self, volume: str) -> Volume:
        """One volume."""
        return Volume.from_wire(self._http.json("GET", f"/v1/volumes/{seg(volume)}")["data"])

    def resize(self, volume: str, size_mib: int) -> Volume:
        """Grows a volume's disk to ``size_mib`` online (runtimes mounting it keep running); smaller is refused."""
        body = _wire.body(size_mib=size_mib)
        return Volume.from_wire(self._http.json("PATCH", f"/v1/volumes/{seg(volume)}", json_body=body)["data"])

    def remove(self, volume: str) -> Volume:
        """Removes a volume and its contents; refused (FailedPreconditionError naming them) while runtimes mount it."""
        return Volume.from_wire(self._http.json("DELETE", f"/v1/volumes/{seg(volume)}")["data"])
