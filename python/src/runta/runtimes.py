"""``runta.runtimes``: create, list, get, and every verb by name or id — lifecycle, resize, exec, egress, ports, files,
checkpoint. The handle on one runtime, :class:`Runtime`, is in ``runtime.py``."""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
from typing import IO, Any, Iterator, Mapping, Optional, Sequence, Union

from . import _wire
from ._http import Transport, seg
from ._wire import UNSET, Command, _Unset
from .errors import InvalidArgumentError
from .exec_stream import ExecStream
from .models import (
    Checkpoint,
    CheckpointKind,
    EgressEvent,
    EgressMode,
    ExecResult,
    FileStat,
    FilesWritten,
    NetworkMode,
    RuntimeEgress,
    RuntimeInfo,
    RuntimeStatus,
    RuntimeType,
    VolumeMount,
)
from .runtime import Runtime

__all__ = ["Command", "Page", "Runtime", "Runtimes", "UNSET"]

#: Page size when following cursors: the largest the API allows, so a fleet of 200 is one request.
LIST_PAGE_MAX = 1000
#: Extra seconds the client waits beyond an exec's own timeout before it gives up on the answer.
EXEC_TIMEOUT_MARGIN_SECS = 30.0
#: The daemon's default exec timeout (src/api/limits.ts execTimeoutSecsDefault).
EXEC_TIMEOUT_DEFAULT_SECS = 60.0


class Page:
    """One page of ``GET /v1/runtimes``: its runtimes and the cursor of the next page."""

    def __init__(self, items: list[Runtime], next_cursor: Optional[str], has_more: bool) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.has_more = has_more

    def __iter__(self) -> Iterator[Runtime]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Page({len(self.items)} runtimes, has_more={self.has_more})"


class Runtimes:
    """``runta.runtimes``: create, list and get runtimes, and every verb by name or id."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self,
        name: Optional[str] = None,
        *,
        vcpus: Optional[float] = None,
        memory_mib: Optional[int] = None,
        disk_size_gib: Optional[int] = None,
        image: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        labels: Optional[Mapping[str, str]] = None,
        hostname: Optional[str] = None,
        description: Optional[str] = None,
        exec_timeout_secs: Optional[int] = None,
        lifetime_secs: Optional[int] = None,
        idle_timeout_secs: Optional[int] = None,
        wait: bool = True,
        idempotency_key: Optional[str] = None,
        network: Optional[NetworkMode] = None,
        egress: Optional[Mapping[str, Any]] = None,
        volumes: Optional[Sequence[VolumeMount]] = None,
        packages: Optional[Sequence[str]] = None,
        runtime_version: Optional[str] = None,
        ports: Optional[Sequence[Mapping[str, Any]]] = None,
        type: Optional[RuntimeType] = None,
    ) -> Runtime:
        """Creates a runtime and, with ``wait=True`` (the default), returns once it is running (or in error).

        Defaults (the daemon's): 1 vCPU, 1024 MiB, a 10 GiB disk, image "default", a generated name (also the hostname unless
        ``hostname`` gives one; it is in /etc/hosts, so ``hostname -f`` works), ``network="nat"`` (an address,
        NAT and DNS; ``"none"``: loopback only), an open egress policy (``egress={"mode": "allowlist", "allow":
        ["deb.debian.org"]}`` restricts it from the start), no volumes (``volumes=[VolumeMount("data", "/work")]``
        mounts volumes made with ``runta.volumes.create``), no published ports (``ports=[{"port": 8080}, {"port": 8443,
        "protocol": "https"}]`` publishes them: see :meth:`publish`). ``idempotency_key`` is sent as the Idempotency-Key header:
        the same key and body return the same runtime (and make the request retryable). ``packages`` (Debian
        ``"NAME[=VERSION]"``, Python ``"pip:NAME[==VERSION]"``) stand it on an image of the set, built once;
        ``runtime_version`` (``"3.11"``) picks the image by the Python it carries. ``type="browser"`` runs headless
        Chromium as its main process on the ``browser`` image (built on first use), its DevTools port 9222 published;
        ``get(...).info.browser.ws`` is the CDP URL once Chromium answers.
        """
        body = _wire.create_body(
            name,
            vcpus=vcpus,
            memory_mib=memory_mib,
            disk_size_gib=disk_size_gib,
            image=image,
            env=env,
            labels=labels,
            hostname=hostname,
            description=description,
            exec_timeout_secs=exec_timeout_secs,
            lifetime_secs=lifetime_secs,
            idle_timeout_secs=idle_timeout_secs,
            network=network,
            egress=egress,
            volumes=volumes,
            packages=packages,
            runtime_version=runtime_version,
            ports=ports,
            type=type,
        )
        data = self._http.json(
            "POST",
            "/v1/runtimes",
            json_body=body,
            query={"wait": None if wait else False},
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
        )["data"]
        return Runtime(self, RuntimeInfo.from_wire(data))

    def list(
        self,
        *,
        status: Union[RuntimeStatus, Sequence[RuntimeStatus], None] = None,
        page_size: int = LIST_PAGE_MAX,
        after: Optional[str] = None,
    ) -> Iterator[Runtime]:
        """Iterates over runtimes (optionally only those in ``status``), following cursors page by page.

        Each page is fetched when the previous one is used up; ``page_size`` (1–1000, default 1000) is per request.
        """
        cursor = after
        while True:
            page = self.list_page(status=status, limit=page_size, after=cursor)
            yield from page.items
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    def list_page(
        self,
        *,
        status: Union[RuntimeStatus, Sequence[RuntimeStatus], None] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> Page:
        """One page of runtimes (default size 100, at most 1000); pass ``page.next_cursor`` as ``after`` for the next."""
        statuses = [status] if isinstance(status, str) else list(status or [])
        env = self._http.json(
            "GET", "/v1/runtimes", query={"status": ",".join(statuses) or None, "limit": limit, "after": after}
        )
        pagination = env.get("pagination") or {}
        items = [Runtime(self, RuntimeInfo.from_wire(r)) for r in env["data"]]
        return Page(items, pagination.get("next_cursor"), bool(pagination.get("has_more")))

    def get(self, runtime: str) -> Runtime:
        """One runtime by name or id, with current usage."""
        return Runtime(self, RuntimeInfo.from_wire(self._http.json("GET", f"/v1/runtimes/{seg(runtime)}")["data"]))

    def _verb(self, runtime: str, verb: str, body: Optional[dict[str, Any]] = None) -> RuntimeInfo:
        # Lifecycle verbs are idempotent by design (asking for the current state is a no-op), so they may be retried.
        return RuntimeInfo.from_wire(self._http.json("POST", f"/v1/runtimes/{seg(runtime)}/{verb}", json_body=body, retry=True)["data"])

    def start(self, runtime: str) -> RuntimeInfo:
        """Boots a shut-down runtime."""
        return self._verb(runtime, "start")

    def stop(self, runtime: str, grace_secs: Optional[int] = None) -> RuntimeInfo:
        """Shuts a runtime down, keeping its filesystem: SIGTERM, then SIGKILL after ``grace_secs`` (default 10, at most 3600)."""
        return self._verb(runtime, "stop", None if grace_secs is None else {"grace_secs": grace_secs})

    def pause(self, runtime: str) -> RuntimeInfo:
        """Freezes every process of a running runtime (memory kept)."""
        return self._verb(runtime, "pause")

    def resume(self, runtime: str) -> RuntimeInfo:
        """Thaws a paused runtime."""
        return self._verb(runtime, "resume")

    def delete(self, runtime: str) -> RuntimeInfo:
        """Stops (if needed) and removes a runtime; returns its last record."""
        return RuntimeInfo.from_wire(self._http.json("DELETE", f"/v1/runtimes/{seg(runtime)}")["data"])

    def resize(
        self, runtime: str, *, memory_mib: Optional[int] = None, vcpus: Optional[float] = None, disk_size_gib: Optional[int] = None
    ) -> RuntimeInfo:
        """Live resize of memory (MiB) and/or vCPUs, or growing the disk (GiB, never shrunk); the record carries the
        values read back."""
        requests = _wire.requests(vcpus, memory_mib, disk_size_gib)
        data = self._http.json(
            "PATCH", f"/v1/runtimes/{seg(runtime)}", json_body={"resources": {"requests": requests}}, retry=True
        )["data"]
        return RuntimeInfo.from_wire(data)

    def rename(self, runtime: str, name: str) -> RuntimeInfo:
        """Gives a runtime a new (unique) name; its id, state and processes are untouched."""
        return RuntimeInfo.from_wire(self._http.json("PATCH", f"/v1/runtimes/{seg(runtime)}", json_body={"name": name})["data"])

    def update(
        self, runtime: str, *, description: Optional[str] = None, idle_timeout_secs: Union[int, None, _Unset] = UNSET
    ) -> RuntimeInfo:
        """Replaces the description (``""`` clears it) and/or the idle timeout (seconds, 5 to 604800; ``None``
        removes it), in any status; memory and vCPUs change with ``resize``."""
        body = _wire.body(description=description)
        if not isinstance(idle_timeout_secs, _Unset):
            body["idle_timeout_secs"] = idle_timeout_secs
        data = self._http.json("PATCH", f"/v1/runtimes/{seg(runtime)}", json_body=body, retry=True)["data"]
        return RuntimeInfo.from_wire(data)

    def exec(
        self,
        runtime: str,
        command: Command,
        *,
        timeout: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stdin: Union[str, bytes, None] = None,
        max_output_bytes: Optional[int] = None,
        user: Optional[str] = None,
    ) -> ExecResult:
        """Runs a command and waits for it (buffered). A string runs through ``sh -c``; a sequence runs as is.

        Defaults (the daemon's): ``timeout`` 60 s (at most 3600; on timeout the whole process group is killed and
        ``timed_out`` is set), 1 MiB of output per stream (``max_output_bytes``, at most 16 MiB; beyond it
        ``stdout_truncated``/``stderr_truncated``), no stdin (at most 1 MiB, UTF-8 text), as root (``user``:
        ``USER[:GROUP]``, names resolved inside the runtime). ``stdout``/``stderr`` are the exact bytes.
        """
        # Base64 on the wire, so that the bytes are exact (text is decoded from them).
        if isinstance(stdin, bytes):
            try:
                stdin = stdin.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidArgumentError(
                    "stdin of a buffered exec must be UTF-8 text (the API carries it as a JSON string); "
                    "send binary input with exec_stream"
                ) from None
        body = _wire.body(
            command=_wire.command(command), output_encoding="base64", user=user, cwd=cwd, env=env, stdin=stdin,
            timeout_secs=timeout, max_output_bytes=max_output_bytes,
        )
        wait_secs = (timeout if timeout is not None else EXEC_TIMEOUT_DEFAULT_SECS) + EXEC_TIMEOUT_MARGIN_SECS
        data = self._http.json(
            "POST", f"/v1/runtimes/{seg(runtime)}/exec", json_body=body, timeout=max(wait_secs, self._http.timeout)
        )["data"]
        return ExecResult.from_wire(data)

    def exec_stream(
        self,
        runtime: str,
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
        """Starts a command over the exec-stream websocket (DESIGN §4) and returns its open stream.

        Without a tty stdout and stderr stay apart and ``close_stdin()`` sends EOF; with ``tty=True`` the command gets
        a terminal of ``rows`` x ``cols`` (the daemon's default 24x80), and a dropped connection leaves it running for
        ``grace_secs`` (default 60; 0 hangs it up at once) so that ``runta.execs.attach`` can resume it.
        See :class:`runta.ExecStream`.
        """
        return ExecStream.open(self._http, runtime, _wire.command(command), tty=tty, rows=rows, cols=cols, env=env, cwd=cwd, user=user, grace_secs=grace_secs)

    def egress(self, runtime: str) -> RuntimeEgress:
        """A runtime's network (mode, address) and egress policy."""
        return RuntimeEgress.from_wire(self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/egress")["data"])

    def set_egress(
        self, runtime: str, mode: EgressMode, *, allow: Optional[Sequence[str]] = None, deny: Optional[Sequence[str]] = None
    ) -> RuntimeEgress:
        """Replaces a runtime's whole egress policy; it applies at once, open connections included.

        ``allow`` entries need ``mode="allowlist"``, ``deny`` entries ``mode="denylist"``; an entry is a hostname
        (``api.example.com``, ``*.example.com``) or an IPv4 address or CIDR (``10.10.10.0/24``). Retried (a PUT).
        """
        body = _wire.body(mode=mode, allow=allow, deny=deny)
        data = self._http.json("PUT", f"/v1/runtimes/{seg(runtime)}/egress", json_body=body, retry=True)["data"]
        return RuntimeEgress.from_wire(data)

    def ports(self, runtime: str) -> builtins.list[dict[str, Any]]:
        """A runtime's published ports, each ``{"port", "protocol", "url", "host_ip", "host_port"}``."""
        data: builtins.list[dict[str, Any]] = self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/ports")["data"]
        return data

    def publish(
        self, runtime: str, port: int, *, protocol: Optional[str] = None, host_port: Optional[int] = None, host_ip: Optional[str] = None
    ) -> dict[str, Any]:
        """Publishes one more port: ``http`` (default) or ``https`` through the ingress, ``tcp`` on a host port.

        Returns the published port with its ``url``. Not retried (a second try would find it published).
        """
        body = _wire.body(port=port, protocol=protocol, host_port=host_port, host_ip=host_ip)
        data: dict[str, Any] = self._http.json("POST", f"/v1/runtimes/{seg(runtime)}/ports", json_body=body)["data"]
        return data

    def unpublish(self, runtime: str, port: int) -> dict[str, Any]:
        """Stops publishing a port; returns what it was."""
        data: dict[str, Any] = self._http.json("DELETE", f"/v1/runtimes/{seg(runtime)}/ports/{int(port)}")["data"]
        return data

    def stat(self, runtime: str, path: str) -> FileStat:
        """What is at ``path`` inside the runtime (resolved within its root; a symlink at the end is not followed)."""
        return FileStat.from_wire(self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/files/stat", query={"path": path})["data"])

    def download(self, runtime: str, path: str, *, timeout: Optional[float] = None) -> bytes:
        """A tar archive of ``path`` (a directory recursively; its top entry is the path's last component), whole."""
        res = self._http.request("GET", f"/v1/runtimes/{seg(runtime)}/files", query={"path": path}, headers={"Accept": "application/x-tar"}, timeout=timeout)
        return res.body

    def upload(
        self, runtime: str, directory: str, tar: Union[bytes, IO[bytes]], *, keep_owner: bool = False, timeout: Optional[float] = None
    ) -> FilesWritten:
        """Unpacks a tar archive (bytes or an open binary file) into the existing ``directory``; members with ``..``
        or absolute names are refused. Files are owned by root unless ``keep_owner``."""
        data = self._http.json(
            "PUT",
            f"/v1/runtimes/{seg(runtime)}/files",
            query={"path": directory, "keep_owner": "true" if keep_owner else None},
            body=tar,
            content_type="application/x-tar",
            timeout=timeout,
        )["data"]
        return FilesWritten.from_wire(data)

    def read_file(self, runtime: str, path: str, *, timeout: Optional[float] = None) -> bytes:
        """One regular file's bytes (``GET …/files?format=raw``)."""
        res = self._http.request(
            "GET", f"/v1/runtimes/{seg(runtime)}/files", query={"path": path, "format": "raw"}, headers={"Accept": "application/octet-stream"}, timeout=timeout
        )
        return res.body

    def write_file(
        self, runtime: str, path: str, data: Union[str, bytes, IO[bytes]], *, mode: int = 0o644, timeout: Optional[float] = None
    ) -> FilesWritten:
        """Writes one file (its directory must exist), replacing it atomically; owned by root, ``mode`` default 0644."""
        body = data.encode("utf-8") if isinstance(data, str) else data
        written = self._http.json(
            "PUT",
            f"/v1/runtimes/{seg(runtime)}/files",
            query={"path": path, "format": "raw", "mode": format(mode, "04o")},
            body=body,
            content_type="application/octet-stream",
            timeout=timeout,
        )["data"]
        return FilesWritten.from_wire(written)

    def checkpoint(self, runtime: str, name: str, *, kind: Optional[CheckpointKind] = None, timeout: Optional[float] = None) -> Checkpoint:
        """Freezes the runtime's filesystem as checkpoint ``name`` (a running runtime is paused for the copy, then
        resumed). ``kind="live"`` (processes too) is refused where CRIU cannot work, saying why."""
        body = _wire.body(name=name, kind=kind)
        data = self._http.json("POST", f"/v1/runtimes/{seg(runtime)}/checkpoints", json_body=body, timeout=timeout)["data"]
        return Checkpoint.from_wire(data)

    def egress_events(self, runtime: str, *, limit: Optional[int] = None, after: Optional[int] = None) -> builtins.list[EgressEvent]:
        """A runtime's egress audit events, oldest first: the last ``limit`` (default 100, at most 1000), or only
        those with ``seq`` above ``after`` (to follow)."""
        env = self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/egress/events", query={"limit": limit, "after": after})
        return [EgressEvent.from_wire(e) for e in env["data"]]
