"""The ``Runtime`` handle: one runtime's record and its verbs, each addressing it by id through :class:`Runtimes`."""
from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

from ._wire import UNSET, Command, _Unset
from .exec_stream import ExecStream
from .models import (
    Checkpoint,
    CheckpointKind,
    EgressEvent,
    EgressMode,
    ExecResult,
    FileStat,
    FilesWritten,
    RuntimeEgress,
    RuntimeInfo,
    RuntimeStatus,
)

if TYPE_CHECKING:
    from .runtimes import Runtimes


class Runtime:
    """A handle on one runtime. Verbs address it by id (stable even if names are reused) and refresh ``info``."""

    def __init__(self, runtimes: Runtimes, info: RuntimeInfo) -> None:
        self._runtimes = runtimes
        self._info = info

    def __repr__(self) -> str:
        return f"Runtime(id={self.id!r}, name={self.name!r}, status={self._info.status!r})"

    @property
    def id(self) -> str:
        """The runtime's UUID."""
        return self._info.id

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def info(self) -> RuntimeInfo:
        """The record as last fetched (by create, list, get, refresh or a verb)."""
        return self._info

    @property
    def cached_info(self) -> RuntimeInfo:
        """Same as ``info``, under the seed's name: ``cached_info.status`` is the last known status."""
        return self._info

    @property
    def status(self) -> RuntimeStatus:
        return self._info.status

    def exec(
        self,
        command: Command,
        *,
        timeout: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stdin: Union[str, bytes, None] = None,
        max_output_bytes: Optional[int] = None,
        user: Optional[str] = None,
    ) -> ExecResult:
        """Runs a command and waits for it. Defaults: 60 s timeout, 1 MiB per stream (see :meth:`Runtimes.exec`)."""
        return self._runtimes.exec(self.id, command, timeout=timeout, env=env, cwd=cwd, stdin=stdin, max_output_bytes=max_output_bytes, user=user)

    def exec_stream(
        self,
        command: Command,
        *,
        tty: bool = False,
        rows: Optional[int] = None,
        cols: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        user: Optional[str] = None,
        grace_secs: Optional[int] = None,
    ) -> ExecStream:
        """Starts a streamed command, with a terminal when ``tty=True`` (see :meth:`Runtimes.exec_stream`)."""
        return self._runtimes.exec_stream(self.id, command, tty=tty, rows=rows, cols=cols, env=env, cwd=cwd, user=user, grace_secs=grace_secs)

    def stat(self, path: str) -> FileStat:
        """What is at ``path`` inside it (see :meth:`Runtimes.stat`)."""
        return self._runtimes.stat(self.id, path)

    def download(self, path: str) -> bytes:
        """A tar archive of ``path`` (see :meth:`Runtimes.download`)."""
        return self._runtimes.download(self.id, path)

    def upload(self, directory: str, tar: Union[bytes, IO[bytes]], *, keep_owner: bool = False) -> FilesWritten:
        """Unpacks a tar archive into ``directory`` (see :meth:`Runtimes.upload`)."""
        return self._runtimes.upload(self.id, directory, tar, keep_owner=keep_owner)

    def read_file(self, path: str) -> bytes:
        """One file's bytes."""
        return self._runtimes.read_file(self.id, path)

    def write_file(self, path: str, data: Union[str, bytes, IO[bytes]], *, mode: int = 0o644) -> FilesWritten:
        """Writes one file, replacing it atomically."""
        return self._runtimes.write_file(self.id, path, data, mode=mode)

    def checkpoint(self, name: str, *, kind: Optional[CheckpointKind] = None) -> Checkpoint:
        """Freezes its filesystem as checkpoint ``name`` (see :meth:`Runtimes.checkpoint`)."""
        return self._runtimes.checkpoint(self.id, name, kind=kind)

    def refresh(self) -> RuntimeInfo:
        """Re-reads the record (with current usage)."""
        self._info = self._runtimes.get(self.id).info
        return self._info

    def start(self) -> RuntimeInfo:
        """Boots it after a shutdown."""
        return self._track(self._runtimes.start(self.id))

    def stop(self, grace_secs: Optional[int] = None) -> RuntimeInfo:
        """Shuts it down, keeping its filesystem (``grace_secs`` between SIGTERM and SIGKILL, default 10)."""
        return self._track(self._runtimes.stop(self.id, grace_secs))

    def pause(self) -> RuntimeInfo:
        """Freezes every process."""
        return self._track(self._runtimes.pause(self.id))

    def resume(self) -> RuntimeInfo:
        """Thaws it."""
        return self._track(self._runtimes.resume(self.id))

    def delete(self) -> RuntimeInfo:
        """Removes it and everything in it; returns the last record."""
        return self._track(self._runtimes.delete(self.id))

    def resize_memory(self, memory_mib: int) -> RuntimeInfo:
        """Changes the memory limit live (MiB)."""
        return self.resize(memory_mib=memory_mib)

    def resize(self, *, memory_mib: Optional[int] = None, vcpus: Optional[float] = None, disk_size_gib: Optional[int] = None) -> RuntimeInfo:
        """Changes memory and/or vCPUs live, or grows the disk."""
        return self._track(self._runtimes.resize(self.id, memory_mib=memory_mib, vcpus=vcpus, disk_size_gib=disk_size_gib))

    def update(self, *, description: Optional[str] = None, idle_timeout_secs: Union[int, None, _Unset] = UNSET) -> RuntimeInfo:
        """Replaces its description (``""`` clears it) and/or its idle timeout (``None`` removes it)."""
        return self._track(self._runtimes.update(self.id, description=description, idle_timeout_secs=idle_timeout_secs))

    def egress(self) -> RuntimeEgress:
        """Its network (mode, address) and egress policy."""
        return self._runtimes.egress(self.id)

    def set_egress(
        self, mode: EgressMode, *, allow: Optional[Sequence[str]] = None, deny: Optional[Sequence[str]] = None
    ) -> RuntimeEgress:
        """Replaces its egress policy, e.g. ``set_egress("allowlist", allow=["deb.debian.org", "10.0.0.0/8"])``."""
        return self._runtimes.set_egress(self.id, mode, allow=allow, deny=deny)

    def egress_events(self, *, limit: Optional[int] = None, after: Optional[int] = None) -> list[EgressEvent]:
        """Its egress audit events, oldest first (default the last 100)."""
        return self._runtimes.egress_events(self.id, limit=limit, after=after)

    def ports(self) -> list[dict[str, Any]]:
        """Its published ports, each with its ``url``."""
        return self._runtimes.ports(self.id)

    def publish(self, port: int, *, protocol: Optional[str] = None, host_port: Optional[int] = None, host_ip: Optional[str] = None) -> dict[str, Any]:
        """Publishes one more of its ports, e.g. ``publish(8080)`` or ``publish(8443, protocol="https")``."""
        return self._runtimes.publish(self.id, port, protocol=protocol, host_port=host_port, host_ip=host_ip)

    def unpublish(self, port: int) -> dict[str, Any]:
        """Stops publishing one of its ports."""
        return self._runtimes.unpublish(self.id, port)

    def _track(self, info: RuntimeInfo) -> RuntimeInfo:
        self._info = info
        return info
