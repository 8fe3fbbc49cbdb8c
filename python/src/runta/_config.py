"""Endpoint and token resolution, the CLI's order (DESIGN §6; src/cli/config.ts):

argument > ``RUNTA_ENDPOINT``/``RUNTA_TOKEN`` > the config file (``$XDG_CONFIG_HOME/runta/config.json``, by default
``~/.config/runta/config.json``, ``{"endpoint": "…", "token": "…"}``) > the local daemon (``http://127.0.0.1:7420``,
token from ``/var/lib/runta/token``). Every value remembers where it came from, so errors can say so. The local
daemon's token file is only read when the endpoint is the local daemon's: a token is never sent to an endpoint it was
not configured for. ``RUNTA_DATA_DIR`` and ``RUNTA_LISTEN`` move the local daemon, as they do for the CLI.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional
from urllib.parse import urlsplit

from .errors import InvalidArgumentError

DEFAULT_LISTEN = "127.0.0.1:7420"
DEFAULT_DATA_DIR = "/var/lib/runta"
DEFAULT_ENDPOINT = f"http://{DEFAULT_LISTEN}"


@dataclass(frozen=True)
class Resolved:
    """The endpoint and token a client uses, and where each came from."""

    endpoint: str
    #: e.g. "the endpoint argument", "RUNTA_ENDPOINT", "~/.config/runta/config.json", "the local daemon default".
    endpoint_origin: str
    token: Optional[str] = field(repr=False)
    #: Where the token came from, or why there is none (shown in 401 errors).
    token_origin: str
    #: True when the endpoint is the local daemon's default address.
    local: bool


def config_file_path(env: Mapping[str, str]) -> str:
    """Path of the user config file, honouring XDG_CONFIG_HOME."""
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(base, "runta", "config.json")


def _read_config(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InvalidArgumentError(f"cannot read {path}: {e.strerror} — fix its permissions or remove it") from None
    try:
        parsed = json.loads(text)
    except ValueError:
        raise InvalidArgumentError(f'{path} is not valid JSON — expected {{"endpoint": "...", "token": "..."}}') from None
    if not isinstance(parsed, dict):
        raise InvalidArgumentError(f'{path} must hold a JSON object like {{"endpoint": "...", "token": "..."}}')
    out: dict[str, str] = {}
    for key in ("endpoint", "token"):
        value = parsed.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise InvalidArgumentError(f'"{key}" in {path} must be a non-empty string')
        out[key] = value
    return out


def _valid_endpoint(value: str, origin: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgumentError(f'endpoint "{value}" (from {origin}) must be an http:// or https:// URL — use e.g. {DEFAULT_ENDPOINT}')
    return value.rstrip("/")


def resolve(endpoint: Optional[str], token: Optional[str], env: Optional[Mapping[str, str]] = None) -> Resolved:
    """Resolves endpoint and token (see the module docstring)."""
    env = os.environ if env is None else env
    path = config_file_path(env)
    home = env.get("HOME") or os.path.expanduser("~")
    shown = "~" + path[len(home):] if home and path.startswith(home + "/") else path
    # The file is only read when something is left to take from it (a broken file must not break explicit settings).
    need_file = not (endpoint or env.get("RUNTA_ENDPOINT")) or not (token or env.get("RUNTA_TOKEN"))
    file = _read_config(path) if need_file else {}
    listen = env.get("RUNTA_LISTEN") or DEFAULT_LISTEN
    local_endpoint = f"http://{listen}"

    if endpoint:
        ep, ep_origin = endpoint, "the endpoint argument"
    elif env.get("RUNTA_ENDPOINT"):
        ep, ep_origin = env["RUNTA_ENDPOINT"], "RUNTA_ENDPOINT"
    elif file.get("endpoint"):
        ep, ep_origin = file["endpoint"], shown
    else:
        ep, ep_origin = local_endpoint, "the local daemon default"
    ep = _valid_endpoint(ep, ep_origin)
    local = ep == local_endpoint

    if token:
        return Resolved(ep, ep_origin, token, "the token argument", local)
    if env.get("RUNTA_TOKEN"):
        return Resolved(ep, ep_origin, env["RUNTA_TOKEN"], "RUNTA_TOKEN", local)
    if file.get("token"):
        return Resolved(ep, ep_origin, file["token"], shown, local)
    if not local:
        return Resolved(ep, ep_origin, None, "no token configured: set RUNTA_TOKEN", local)
    token_file = os.path.join(env.get("RUNTA_DATA_DIR") or DEFAULT_DATA_DIR, "token")
    try:
        with open(token_file, encoding="utf-8") as f:
            value = f.read().strip()
    except FileNotFoundError:
        value = ""
    except PermissionError:
        return Resolved(ep, ep_origin, None, f"cannot read the daemon token {token_file} (root only): run as root or set RUNTA_TOKEN", local)
    if not value:
        return Resolved(ep, ep_origin, None, f"no token: {token_file} is missing or empty — start the local daemon (runta daemon start) or set RUNTA_TOKEN", local)
    return Resolved(ep, ep_origin, value, token_file, local)
