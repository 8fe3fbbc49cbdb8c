"""Records as the API reports them (src/api/schemas.ts), as frozen dataclasses.

Field names are the wire names. Each record keeps the whole wire object in ``raw`` (not shown in ``repr``), so fields a
newer daemon adds are readable before this SDK names them.
"""
from __future__ import annotations

import base64

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional, TypeVar

from ._wire import record

EgressMode = Literal["open", "allowlist", "denylist"]
NetworkMode = Literal["nat", "none"]
RuntimeStatus = Literal["creating", "running", "paused", "suspended", "shutdown", "deleting", "error", "crashed"]
#: What a runtime runs: "default" (its init waits for execs) or "browser" (headless Chromium, seed 004's type).
RuntimeType = Literal["default", "browser"]
#: Signals a streamed command can be sent (src/api/stream.ts STREAM_SIGNALS).
StreamSignal = Literal["INT", "TERM", "KILL", "HUP", "QUIT", "TSTP", "WINCH"]

_R = TypeVar("_R", bound="_Record")


class _Record:
    """A record read from the API's JSON object: each field from the key of its name (``_wire.record``)."""

    @classmethod
    def from_wire(cls: type[_R], d: Mapping[str, Any]) -> _R:
        return record(cls, d)


@dataclass(frozen=True)
class ResourceRequests(_Record):
    """What a runtime asked for: vCPUs and memory in MiB."""

    vcpus: float
    memory_mib: int


@dataclass(frozen=True)
class Resources(_Record):
    requests: ResourceRequests


@dataclass(frozen=True)
class Usage(_Record):
    """Current usage read from a runtime's cgroup (only on ``get``)."""

    memory_bytes: int
    memory_limit_bytes: int
    cpu_usage_ns: int
    pids: int
    #: Bytes received and sent on its network; None without one (``network="none"``) or from an older daemon.
    net_rx_bytes: Optional[int] = None
    net_tx_bytes: Optional[int] = None
    #: Bytes read from and written to its disk since it was mounted; None without a disk of its own.
    disk_read_bytes: Optional[int] = None
    disk_write_bytes: Optional[int] = None


@dataclass(frozen=True)
class VolumeMount(_Record):
    """A volume mounted in a runtime: what ``runtimes.create(volumes=[...])`` takes (``volume``: its name or id) and
    what ``RuntimeInfo.volumes`` holds."""

    volume: str
    #: Absolute path inside the runtime (not /, /proc, /sys, /dev).
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class Volume(_Record):
    """A named, persistent directory with a size bound that outlives runtimes (src/api/volumes.ts)."""

    id: str
    name: str
    size_bytes: int
    #: Bytes in use; None when its disk is not mounted.
    used_bytes: Optional[int]
    created_at: str
    #: Runtimes (any status) that mount it.
    in_use_by: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class BrowserEndpoints(_Record):
    """Where a CDP client (Playwright's ``connect_over_cdp``, Puppeteer) reaches a browser runtime's Chromium, through
    the daemon's ingress: ``ws``, the browser target's websocket (None until Chromium answers), and ``http``, the
    DevTools HTTP endpoint (``/json/version`` under it)."""

    ws: Optional[str]
    http: str


@dataclass(frozen=True)
class RuntimeInfo(_Record):
    """A runtime as the API reports it. Times are ISO 8601 strings, as on the wire."""

    id: str
    name: str
    status: RuntimeStatus
    image: str
    resources: Resources
    env_names: list[str]
    labels: dict[str, str]
    created_at: str
    updated_at: str
    started_at: Optional[str]
    revision: int
    last_error: Optional[str]
    idle_timeout_secs: Optional[float]
    last_activity_at: Optional[str]
    usage: Optional[Usage] = None
    #: sha256 of the runtime id and its NAME=value env pairs: tells whether values match without revealing them.
    env_digest: str = ""
    #: The hostname inside the runtime (its name unless one was given at create).
    hostname: str = ""
    #: Free text given at create or by ``update`` ("" when none).
    description: str = ""
    #: Timeout (seconds) of every exec in it that sets none; None: buffered execs 60 s, streamed and detached none.
    exec_timeout_secs: Optional[int] = None
    #: Its lifetime: it shuts down this long after each start (None: none). Not an idle timeout.
    lifetime_secs: Optional[int] = None
    #: When its lifetime ends, while it runs (None otherwise).
    shutdown_at: Optional[str] = None
    #: The volumes it mounts.
    volumes: list[VolumeMount] = field(default_factory=list)
    #: Exit code of its init when it last ended (0 after a graceful shutdown, 137 after a kill); None while it runs or unknown.
    exit_code: Optional[int] = None
    #: Why it is frozen: "user" (paused), "idle" (suspended by its idle timeout), None otherwise.
    pause_reason: Optional[str] = None
    #: Its idle state (timeout_secs, last_activity_at, last_activity, active, awake_because, suspends_at); None without an idle timeout.
    idle: Optional[dict[str, Any]] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Its published ports, each ``{"port", "protocol", "url", "host_ip", "host_port"}`` (as :meth:`Runtimes.ports`).
    ports: list[dict[str, Any]] = field(default_factory=list)
    #: Only on a browser runtime (``type="browser"``) as ``get`` reports it: where a CDP client connects.
    browser: Optional[BrowserEndpoints] = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "RuntimeInfo":
        return record(cls, d, hostname=d.get("hostname", d["name"]))


@dataclass(frozen=True)
class ExecResult:
    """A finished buffered exec. ``exit_code`` is 128+n when the command died by signal n.

    ``stdout``/``stderr`` are the exact bytes (the SDK asks for base64); ``stdout_text``/``stderr_text`` the text,
    with invalid UTF-8 replaced (``raw["stdout_invalid_utf8"]`` says when).
    """

    exit_code: int
    signal: Optional[str]
    stdout_text: str
    stderr_text: str
    duration_ms: float
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    oom_killed: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    stdout_bytes: Optional[bytes] = field(default=None, repr=False)
    stderr_bytes: Optional[bytes] = field(default=None, repr=False)

    @property
    def stdout(self) -> bytes:
        return self.stdout_bytes if self.stdout_bytes is not None else self.stdout_text.encode("utf-8")

    @property
    def stderr(self) -> bytes:
        return self.stderr_bytes if self.stderr_bytes is not None else self.stderr_text.encode("utf-8")

    @property
    def exec_id(self) -> Optional[str]:
        """The exec object's id (``runta.execs.get``), from daemons that have exec objects."""
        return self.raw.get("exec_id")

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "ExecResult":
        out: Optional[bytes] = None
        err: Optional[bytes] = None
        if d.get("output_encoding") == "base64":
            out, err = base64.b64decode(d["stdout"]), base64.b64decode(d["stderr"])
        return cls(
            exit_code=d["exit_code"],
            signal=d.get("signal"),
            stdout_text=out.decode("utf-8", "replace") if out is not None else d["stdout"],
            stderr_text=err.decode("utf-8", "replace") if err is not None else d["stderr"],
            stdout_bytes=out,
            stderr_bytes=err,
            duration_ms=d["duration_ms"],
            stdout_truncated=d["stdout_truncated"],
            stderr_truncated=d["stderr_truncated"],
            timed_out=d["timed_out"],
            oom_killed=d["oom_killed"],
            raw=dict(d),
        )


@dataclass(frozen=True)
class Image(_Record):
    """A root-filesystem image; ``in_use_by`` lists the runtimes on it."""

    name: str
    size_bytes: int
    created_at: str
    source: str
    in_use_by: list[str]
    #: The image a derived image (packages over a parent) stands on; None for a base image.
    parent: Optional[str] = None
    #: The packages a derived image adds to its parent.
    packages: list[str] = field(default_factory=list)
    #: The python3 the image carries ("3.11.2"), None when it has none.
    python_version: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class VersionInfo(_Record):
    """Versions on the daemon's host."""

    runta: str
    runc: str
    kernel: str
    node: str
    api: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class DashboardLink:
    """A one-time login link to the dashboard: open ``url`` once, before ``expires_at`` (two minutes)."""

    url: str
    code: str
    login_path: str
    expires_at: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Mapping[str, Any], endpoint: str) -> "DashboardLink":
        return cls(endpoint.rstrip("/") + d["login_path"], d["code"], d["login_path"], d["expires_at"], dict(d))


@dataclass(frozen=True)
class StreamExit:
    """How a streamed command ended. Output not read by iterating the stream is collected in ``stdout``/``stderr``."""

    code: int
    signal: Optional[str] = None
    oom_killed: bool = False
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed command's output."""

    stream: Literal["stdout", "stderr"]
    data: bytes


@dataclass(frozen=True)
class EgressPolicy(_Record):
    """Where a runtime may connect: ``open``, or an ``allowlist``/``denylist`` of hostnames and IPv4 CIDRs."""

    mode: EgressMode
    allow: list[str]
    deny: list[str]


@dataclass(frozen=True)
class RuntimeEgress(_Record):
    """A runtime's network (``nat`` with its address, or ``none``) and its egress policy."""

    runtime: str
    runtime_id: str
    network: NetworkMode
    address: Optional[str]
    policy: EgressPolicy
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class EgressEvent(_Record):
    """One audit event of the egress proxy or resolver: a connection (allowed or denied) or a refused DNS name."""

    seq: int
    time: str
    protocol: str
    host: Optional[str]
    ip: Optional[str]
    port: int
    verdict: Literal["allowed", "denied"]
    rule: str
    reason: Optional[str]
    bytes_out: int
    bytes_in: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: On a connection taken over for secret rules: the (secret name, header) pairs put into this request.
    injected: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "EgressEvent":
        return record(cls, d, injected=[(i["secret"], i["header"]) for i in d.get("injected") or []])


FileType = Literal["file", "directory", "symlink", "other"]


@dataclass(frozen=True)
class FileStat(_Record):
    """What is at a path inside a runtime (a symlink at the end is described, not followed)."""

    path: str
    type: FileType
    size: int
    mode: int
    mtime: str
    link_target: Optional[str]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class FilesWritten(_Record):
    """What an upload wrote: entries (files, directories, links) and bytes of file content."""

    entries: int
    bytes: int


CheckpointState = Literal["creating", "ready", "error"]
CheckpointKind = Literal["full", "live"]


@dataclass(frozen=True)
class Checkpoint(_Record):
    """A frozen copy of a runtime's filesystem that new runtimes are restored from (src/api/files.ts)."""

    id: str
    display_name: str
    state: CheckpointState
    kind: CheckpointKind
    source_runtime: str
    image: str
    parent: Optional[str]
    created_at: str
    size_bytes: int
    in_use_by: list[str]
    error: Optional[str]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


ExecKind = Literal["buffered", "stream", "terminal", "detached"]
ExecEndReason = Literal["exited", "signalled", "timed_out", "oom", "killed", "client_gone", "unknown"]
ExecSignal = Literal["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "ALRM", "TERM", "CONT", "STOP", "TSTP", "WINCH"]


@dataclass(frozen=True)
class ExecInfo(_Record):
    """One exec of a runtime (``runta.execs``): running, or among the last 100 finished. ``pid`` is the command's
    pid inside the runtime; ``ended_by`` says how it ended (``exited``, ``signalled``, ``timed_out``, ``oom``,
    ``killed``, ``client_gone``, or ``unknown`` after a daemon restart that lost its status)."""

    id: str
    runtime_id: str
    kind: ExecKind
    command: list[str]
    user: Optional[str]
    pid: Optional[int]
    tty: bool
    status: Literal["running", "ended"]
    started_at: str
    ended_at: Optional[str]
    exit_code: Optional[int]
    signal: Optional[str]
    ended_by: Optional[ExecEndReason]
    attached: Optional[bool]
    grace_expires_at: Optional[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class StreamedExit:
    """How ``runta.execs.run`` ended: ``code`` (128+n for signal n), ``signal``, ``oom_killed``, ``ended_by``, and
    the output the callbacks did not take (all of it when none were given)."""

    exec_id: str
    code: int
    signal: Optional[str]
    oom_killed: bool
    ended_by: str
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass(frozen=True)
class SecretUse(_Record):
    """A rule that injects a secret: the runtime, host and header."""

    runtime: str
    runtime_id: str
    host: str
    header: str


@dataclass(frozen=True)
class Secret(_Record):
    """A secret as the daemon shows it: its name and dates, never its value (nor any part or length of it)."""

    id: str
    display_name: str
    created_at: str
    updated_at: str
    used_by: list[SecretUse]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class SecretRule(_Record):
    """An injection rule of a runtime: the egress proxy puts ``template`` (holding ``${secret}``) into ``header``."""

    secret: str
    host: str
    path: str
    header: str
    template: str
    allow_http: bool
    created_at: str
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

