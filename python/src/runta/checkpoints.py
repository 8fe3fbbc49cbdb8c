"""``runta.checkpoints``: frozen copies of a runtime's filesystem, and new runtimes restored from them (forks).

A checkpoint is taken with :meth:`runta.Runtimes.checkpoint` (or ``runtime.checkpoint(name)``); a restore stacks its
layer under the new runtime's own, so it costs what a create costs whatever the checkpoint holds.
"""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
from typing import Any, Mapping, Optional

from ._http import Transport, seg
from ._wire import create_body
from .models import Checkpoint, NetworkMode, RuntimeInfo
from .runtime import Runtime
from .runtimes import Runtimes


class Checkpoints:
    """``runta.checkpoints``: list, get, restore and remove checkpoints by name or id."""

    def __init__(self, http: Transport, runtimes: Runtimes) -> None:
        self._http = http
        self._runtimes = runtimes

    def list(self) -> builtins.list[Checkpoint]:
        """Every checkpoint, oldest first, with its disk use and the runtimes standing on it."""
        return [Checkpoint.from_wire(c) for c in self._http.json("GET", "/v1/checkpoints")["data"]]

    def get(self, checkpoint: str) -> Checkpoint:
        """One checkpoint."""
        return Checkpoint.from_wire(self._http.json("GET", f"/v1/checkpoints/{seg(checkpoint)}")["data"])

    def restore(
        self,
        checkpoint: str,
        name: Optional[str] = None,
        *,
        vcpus: Optional[float] = None,
        memory_mib: Optional[int] = None,
        disk_size_gib: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        labels: Optional[Mapping[str, str]] = None,
        network: Optional[NetworkMode] = None,
        egress: Optional[Mapping[str, Any]] = None,
    ) -> Runtime:
        """Creates runtime ``name`` from the checkpoint (on the checkpoint's image) and returns it running; takes the
        options of :meth:`runta.Runtimes.create` but the image."""
        body = create_body(
            name, vcpus=vcpus, memory_mib=memory_mib, disk_size_gib=disk_size_gib, env=env, labels=labels, network=network, egress=egress
        )
        data = self._http.json("POST", f"/v1/checkpoints/{seg(checkpoint)}/restore", json_body=body)["data"]
        return Runtime(self._runtimes, RuntimeInfo.from_wire(data))

    def remove(self, checkpoint: str) -> Checkpoint:
        """Removes a checkpoint; refused (FailedPreconditionError naming them) while runtimes stand on it."""
        return Checkpoint.from_wire(self._http.json("DELETE", f"/v1/checkpoints/{seg(checkpoint)}")["data"])
