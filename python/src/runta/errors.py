"""Typed errors: one class per API error code (DESIGN §3), all under :class:`RuntaError`.

``except runta.NotFoundError`` and ``err.code == "not_found"`` both work. Every error carries the daemon's message and,
when a response arrived, its request id (the key to the daemon's log). Tokens never appear in an error: messages come
from the daemon (which never echoes the token) or from the SDK, which only ever names where a token came from.
"""
from __future__ import annotations

import json
from typing import Any, ClassVar, Mapping, Optional


class RuntaError(Exception):
    """Any error the API reported, or that the SDK inferred (``unavailable`` when the daemon cannot be reached)."""

    #: The API error code of this class (DESIGN §3).
    code: ClassVar[str] = "internal"

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        request_id: Optional[str] = None,
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        #: The human message (safe to show a user; it names the field and the allowed range).
        self.message = message
        #: HTTP status of the response; 0 when no response arrived (connection failures, stream frames).
        self.status = status
        #: The daemon's request id, for matching its log; None when no response arrived.
        self.request_id = request_id
        #: Structured details from the error envelope (e.g. the offending field), or None.
        self.details = dict(details) if details else None

    def __str__(self) -> str:
        return f"{self.message} (request id {self.request_id})" if self.request_id else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r}, request_id={self.request_id!r})"


class InvalidArgumentError(RuntaError):
    """400/422: a request field is missing, malformed or out of range."""

    code = "invalid_argument"


class UnauthenticatedError(RuntaError):
    """401: missing or wrong token."""

    code = "unauthenticated"


class PermissionDeniedError(RuntaError):
    """403: refused (e.g. a Host or Origin the daemon does not accept)."""

    code = "permission_denied"


class NotFoundError(RuntaError):
    """404: no such runtime, image or route."""

    code = "not_found"


class AlreadyExistsError(RuntaError):
    """409: the name (or idempotency key) is taken."""

    code = "already_exists"


class FailedPreconditionError(RuntaError):
    """409: the runtime's status does not allow the operation (the message names the status and the fix)."""

    code = "failed_precondition"


class ResourceExhaustedError(RuntaError):
    """413/429/507: a limit was reached."""

    code = "resource_exhausted"


class DeadlineExceededError(RuntaError):
    """504: the operation took too long."""

    code = "deadline_exceeded"


class InternalError(RuntaError):
    """500: the daemon failed (``request_id`` finds the details in its log), or it sent something unreadable."""

    code = "internal"


class UnavailableError(RuntaError):
    """503, or no connection: the daemon is not reachable (the message says where the endpoint came from) or not ready."""

    code = "unavailable"


#: The class for each API error code; src/api/errors.ts ERROR_CODES is the list (a test keeps the two in step).
ERROR_CLASSES: dict[str, type[RuntaError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        UnauthenticatedError,
        PermissionDeniedError,
        NotFoundError,
        AlreadyExistsError,
        FailedPreconditionError,
        ResourceExhaustedError,
        DeadlineExceededError,
        InternalError,
        UnavailableError,
    )
}

# The code for a status that came without a runta error envelope (a proxy's page, say); the same table as the TS SDK.
_CODE_FOR_STATUS = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    409: "failed_precondition",
    413: "resource_exhausted",
    415: "invalid_argument",
    422: "invalid_argument",
    429: "resource_exhausted",
    503: "unavailable",
    504: "deadline_exceeded",
    507: "resource_exhausted",
}


def error_for_code(
    code: str,
    message: str,
    *,
    status: int = 0,
    request_id: Optional[str] = None,
    details: Optional[Mapping[str, Any]] = None,
) -> RuntaError:
    """The typed error for ``code`` (unknown codes become :class:`InternalError`)."""
    cls = ERROR_CLASSES.get(code, InternalError)
    return cls(message, status=status, request_id=request_id, details=details)


def error_for_status(status: int) -> str:
    """The error code for an HTTP status that came without an envelope."""
    return _CODE_FOR_STATUS.get(status, "internal" if status >= 500 else "invalid_argument")


def error_from_response(status: int, body: bytes, request_id: Optional[str], endpoint: str) -> RuntaError:
    """The one factory: a typed error from an HTTP status and a (possibly malformed) error envelope."""
    envelope: Any = None
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        pass  # Not an envelope: the status decides, and the message says who answered.
    err = envelope.get("error") if isinstance(envelope, dict) else None
    if not isinstance(err, dict):
        return error_for_code(
            error_for_status(status),
            f"the server at {endpoint} answered HTTP {status} without a runta error; is it a runta daemon?",
            status=status,
            request_id=request_id,
        )
    code, message = err.get("code"), err.get("message")
    if not isinstance(code, str):
        code = error_for_status(status)
    if not isinstance(message, str) or not message:
        message = f"the daemon answered HTTP {status} without an error message"
    details = err.get("details") if isinstance(err.get("details"), dict) else None
    rid = envelope.get("request_id") if isinstance(envelope.get("request_id"), str) else request_id
    return error_for_code(code, message, status=status, request_id=rid, details=details)
