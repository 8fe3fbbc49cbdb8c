"""``runta.runtimes`` and the ``Runtime`` handle: create, list, get, lifecycle, resize, exec, egress, files, checkpoint."""
from __future__ import annotations

import builtins
from typing import IO, Any, Iterator, Mapping, Optional, Sequence, Union

from ._http import Transport, seg
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
    VolumeMount,
)

#: Page size when following cursors: the largest the API allows, so a fleet of 200 is one request.
LIST_PAGE_MAX = 1000
#: Extra seconds the client waits beyond an exec's own timeout before it gives up on the answer.
EXEC_TIMEOUT_MARGIN_SECS = 30.0
#: The daemon's default exec timeout (src/api/limits.ts execTimeoutSecsDefault).
EXEC_TIMEOUT_DEFAULT_SECS = 60.0

Command = Union[str, Sequence[str]]


class _Unset:
    """The type of ``UNSET``: an argument not given (``None`` means something else: remove)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def _command(command: Command) -> Union[str, list[str]]:
    """A string runs through ``sh -c``; a sequence runs as is."""
    return command if isinstance(command, str) else list(command)


def _requests(vcpus: Optional[float], memory_mib: Optional[int], disk_size_gib: Optional[int]) -> dict[str, float]:
    """``resources.requests`` of a create, restore or resize: only what was given."""
    given = {"vcpus": vcpus, "memory_mib": memory_mib, "disk_size_gib": disk_size_gib}
    return {k: v for k, v in given.items() if v is not None}


def create_body(
    name: Optional[str],
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
    network: Optional[NetworkMode] = None,
    egress: Optional[Mapping[str, Any]] = None,
    volumes: Optional[Sequence[VolumeMount]] = None,
    packages: Optional[Sequence[str]] = None,
    runtime_version: Optional[str] = None,
    ports: Optional[Sequence[Mapping[str, Any]]] = None,
) -> dict[str, Any]:
    """The JSON body of a create (``POST /v1/runtimes``) or a restore (``POST /v1/checkpoints/{cp}/restore``)."""
    requests = _requests(vcpus, memory_mib, disk_size_gib)
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if image is not None:
        body["image"] = image
    if requests:
        body["resources"] = {"requests": requests}
    if env is not None:
        body["env"] = dict(env)
    if labels is not None:
        body["labels"] = dict(labels)
    if hostname is not None:
        body["hostname"] = hostname
    if description is not None:
        body["description"] = description
    if exec_timeout_secs is not None:
        body["exec_timeout_secs"] = exec_timeout_secs
    if lifetime_secs is not None:
        body["lifetime_secs"] = lifetime_secs
    if idle_timeout_secs is not None:
        body["idle_timeout_secs"] = idle_timeout_secs
    if network is not None:
        body["network"] = network
    if egress is not None:
        body["egress"] = dict(egress)
    if volumes is not None:
        body["volumes"] = [{"volume": v.volume, "path": v.path, "read_only": v.read_only} for v in volumes]
    if packages is not None:
        body["packages"] = list(packages)
    if runtime_version is not None:
        body["runtime_version"] = runtime_version
    if ports is not None:
        body["ports"] = [dict(p) for p in ports]
    return body


class Page:
    """One page of ``GET /v1/runtimes``: its runtimes and the cursor of the next page."""

    def __init__(self, items: list["Runtime"], next_cursor: Optional[str], has_more: bool) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.has_more = has_more

    def __iter__(self) -> Iterator["Runtime"]:
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
    ) -> "Runtime":
        """Creates a runtime and, with ``wait=True`` (the default), returns once it is running (or in error).

        Defaults (the daemon's): 1 vCPU, 1024 MiB, a 10 GiB disk, image "default", a generated name (also the hostname unless
        ``hostname`` gives one; it is in /etc/hosts, so ``hostname -f`` works), ``network="nat"`` (an address,
        NAT and DNS; ``"none"``: loopback only), an open egress policy (``egress={"mode": "allowlist", "allow":
        ["deb.debian.org"]}`` restricts it from the start), no volumes (``volumes=[VolumeMount("data", "/work")]``
        mounts volumes made with ``runta.volumes.create``), no published ports (``ports=[{"port": 8080}, {"port": 8443,
        "protocol": "https"}]`` publishes them: see :meth:`publish`). ``idempotency_key`` is sent as the Idempotency-Key header:
        the same key and body return the same runtime (and make the request retryable). ``packages`` (Debian
        ``"NAME[=VERSION]"``, Python ``"pip:NAME[==VERSION]"``) stand it on an image of the set, built once;
        ``runtime_version`` (``"3.11"``) picks the image by the Python it carries.
        """
        body = create_body(
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
    ) -> Iterator["Runtime"]:
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

    def get(self, runtime: str) -> "Runtime":
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
        requests = _requests(vcpus, memory_mib, disk_size_gib)
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
        body: dict[str, Any] = {}
        if description is not None:
            body["description"] = description
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
        body: dict[str, Any] = {"command": _command(command), "output_encoding": "base64"}
        if user is not None:
            body["user"] = user
        if cwd is not None:
            body["cwd"] = cwd
        if env is not None:
            body["env"] = dict(env)
        if isinstance(stdin, bytes):
            try:
                stdin = stdin.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidArgumentError(
                    "stdin of a buffered exec must be UTF-8 text (the API carries it as a JSON string); "
                    "send binary input with exec_stream"
                ) from None
        if stdin is not None:
            body["stdin"] = stdin
        if timeout is not None:
            body["timeout_secs"] = timeout
        if max_output_bytes is not None:
            body["max_output_bytes"] = max_output_bytes
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
        return ExecStream.open(self._http, runtime, _command(command), tty=tty, rows=rows, cols=cols, env=env, cwd=cwd, user=user, grace_secs=grace_secs)

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
        body: dict[str, Any] = {"mode": mode}
        if allow is not None:
            body["allow"] = list(allow)
        if deny is not None:
            body["deny"] = list(deny)
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
        body: dict[str, Any] = {"port": port}
        if protocol is not None:
            body["protocol"] = protocol
        if host_port is not None:
            body["host_port"] = host_port
        if host_ip is not None:
            body["host_ip"] = host_ip
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
        body: dict[str, Any] = {"name": name}
        if kind is not None:
            body["kind"] = kind
        data = self._http.json("POST", f"/v1/runtimes/{seg(runtime)}/checkpoints", json_body=body, timeout=timeout)["data"]
        return Checkpoint.from_wire(data)

    # builtins.list: inside this class `list` is the runtimes' list method.
    def egress_events(self, runtime: str, *, limit: Optional[int] = None, after: Optional[int] = None) -> "builtins.list[EgressEvent]":
        """A runtime's egress audit events, oldest first: the last ``limit`` (default 100, at most 1000), or only
        those with ``seq`` above ``after`` (to follow)."""
        env = self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/egress/events", query={"limit": limit, "after": after})
        return [EgressEvent.from_wire(e) for e in env["data"]]


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
