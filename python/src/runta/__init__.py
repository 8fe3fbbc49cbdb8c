"""runta: the Python SDK of runta's daemon (REST API v1 and the exec-stream websocket).

    from runta import Runta

    with Runta() as runta:        # RUNTA_ENDPOINT / RUNTA_TOKEN, then ~/.config/runta/config.json, then the local daemon
        runtime = runta.runtimes.create("worker", vcpus=2, memory_mib=2048)
        print(runtime.exec(["python3", "--version"]).stdout_text)
        runtime.delete()
"""
__version__ = "0.1.0"

from .client import Runta
from .checkpoints import Checkpoints
from .pools import Pools
from .execs import Execs
from .images import Images
from .secrets import Secrets
from .runtimes import Page, Runtime, Runtimes
from .volumes import Volumes
from .errors import (
    ERROR_CLASSES,
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    RuntaError,
    UnauthenticatedError,
    UnavailableError,
)
from .exec_stream import ExecStream
from .models import (
    BrowserEndpoints,
    Checkpoint,
    CheckpointKind,
    CheckpointState,
    DashboardLink,
    EgressEvent,
    EgressMode,
    EgressPolicy,
    ExecEndReason,
    ExecInfo,
    ExecKind,
    ExecResult,
    FileStat,
    FilesWritten,
    FileType,
    ExecSignal,
    Image,
    NetworkMode,
    ResourceRequests,
    Resources,
    RuntimeEgress,
    RuntimeInfo,
    RuntimeStatus,
    RuntimeType,
    Secret,
    SecretRule,
    SecretUse,
    StreamChunk,
    StreamExit,
    StreamSignal,
    StreamedExit,
    Usage,
    VersionInfo,
    Volume,
    VolumeMount,
)

__all__ = [
    "Runta", "Runtimes", "Runtime", "Images", "Checkpoints", "Pools", "Execs", "Secrets", "Volumes", "Page", "ExecStream",
    "Secret", "SecretRule", "SecretUse", "Volume", "VolumeMount",
    "Checkpoint", "CheckpointKind", "CheckpointState", "FileStat", "FilesWritten", "FileType",
    "ExecInfo", "ExecKind", "ExecEndReason", "ExecSignal", "StreamedExit",
    "RuntimeInfo", "Resources", "ResourceRequests", "Usage", "ExecResult", "Image", "VersionInfo", "DashboardLink",
    "StreamChunk", "StreamExit", "StreamSignal", "RuntimeStatus", "RuntimeType", "BrowserEndpoints",
    "RuntimeEgress", "EgressPolicy", "EgressEvent", "EgressMode", "NetworkMode",
    "RuntaError", "InvalidArgumentError", "UnauthenticatedError", "PermissionDeniedError", "NotFoundError",
    "AlreadyExistsError", "FailedPreconditionError", "ResourceExhaustedError", "DeadlineExceededError",
    "InternalError", "UnavailableError", "ERROR_CLASSES",
]
