"""The wire in both directions, each done once: request bodies from the keyword arguments a method was given
(:func:`body`, :func:`create_body`), and records (frozen dataclasses whose field names are the wire names) from the
API's JSON objects (:func:`record`).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Mapping, Optional, Sequence, TypeVar, Union

Command = Union[str, Sequence[str]]

R = TypeVar("R")


class _Unset:
    """The type of ``UNSET``: an argument not given (``None`` means something else: remove)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def command(command: Command) -> Union[str, list[str]]:
    """A string runs through ``sh -c``; a sequence runs as is."""
    return command if isinstance(command, str) else list(command)


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields given: ``None`` means not given and is left out; mappings become objects, sequences
    arrays, dataclasses (``VolumeMount``) objects of their fields."""
    return {k: _json(v) for k, v in fields.items() if v is not None}


def _json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def requests(vcpus: Optional[float], memory_mib: Optional[int], disk_size_gib: Optional[int]) -> dict[str, Any]:
    """``resources.requests`` of a create, restore or resize: only what was given."""
    return body(vcpus=vcpus, memory_mib=memory_mib, disk_size_gib=disk_size_gib)


def create_body(
    name: Optional[str],
    *,
    vcpus: Optional[float] = None,
    memory_mib: Optional[int] = None,
    disk_size_gib: Optional[int] = None,
    **options: Any,
) -> dict[str, Any]:
    """The JSON body of a create (``POST /v1/runtimes``) or a restore (``POST /v1/checkpoints/{cp}/restore``): the
    resources under ``resources.requests``, every other option under its own name (the SDK's keywords are the wire's)."""
    asked = requests(vcpus, memory_mib, disk_size_gib)
    return body(name=name, resources={"requests": asked} if asked else None, **options)


def record(cls: type[R], d: Mapping[str, Any], **given: Any) -> R:
    """The record ``cls`` read from its wire object ``d``: each field from the key of its name, converted by its type
    (nested records, lists of them, copies of lists and objects); a field absent from ``d`` takes its default, None
    when it is Optional, an empty list or object (anything else raises KeyError). ``given`` supplies the fields that need more than that;
    a ``raw`` field keeps the whole object."""
    args: dict[str, Any] = {}
    for f, hint in _fields(cls):
        if f.name in given:
            args[f.name] = given[f.name]
        elif f.name == "raw":
            args["raw"] = dict(d)
        elif f.name in d:
            args[f.name] = _convert(hint, d[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            args[f.name] = _absent(f.name, hint)
    return cls(**args)


_FIELDS: dict[type, tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def _fields(cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """A record's fields with their types. The annotations are strings (``from __future__ import annotations``):
    resolved once per class."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple((f, hints[f.name]) for f in dataclasses.fields(cls) if f.init)
    return _FIELDS[cls]


def _absent(name: str, hint: Any) -> Any:
    # What an older daemon leaves out: an Optional field is None, a list or an object empty; anything else is an error.
    if type(None) in typing.get_args(hint):
        return None
    origin = typing.get_origin(hint)
    if origin in (list, dict):
        return origin()
    raise KeyError(name)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        # Optional[X] (or X | None) converts as X; a union of several types is taken as it comes.
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if origin is dict:
        return dict(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record(hint, value)
    return value
