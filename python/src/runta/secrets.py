"""``runta.secrets``: secrets the daemon keeps (values go in, never come back out) and runtimes' injection rules.

Inside every runtime a secret's name is an environment variable holding ``runta-secret-stub``; a rule makes the
daemon's egress proxy put the real value into one header of the runtime's HTTPS requests to one host.
"""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
from typing import Optional

from . import _wire
from ._http import Transport, seg
from .models import Secret, SecretRule


class Secrets:
    """``runta.secrets``: set, list, get and remove secrets; set, list and remove a runtime's rules."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(self) -> builtins.list[Secret]:
        """Every secret: names, dates and the rules using it; never a value."""
        return [Secret.from_wire(s) for s in self._http.json("GET", "/v1/secrets")["data"]]

    def get(self, name: str) -> Secret:
        """One secret (no value)."""
        return Secret.from_wire(self._http.json("GET", f"/v1/secrets/{seg(name)}")["data"])

    def set(self, name: str, value: str) -> Secret:
        """Stores ``value`` under ``name`` (in the request body, never the URL); an existing name is rotated for the next request."""
        return Secret.from_wire(self._http.json("PUT", f"/v1/secrets/{seg(name)}", json_body={"value": value})["data"])

    def remove(self, name: str) -> Secret:
        """Removes a secret; refused (FailedPreconditionError naming them) while rules use it."""
        return Secret.from_wire(self._http.json("DELETE", f"/v1/secrets/{seg(name)}")["data"])

    def rules(self, runtime: str) -> builtins.list[SecretRule]:
        """A runtime's injection rules."""
        return [SecretRule.from_wire(r) for r in self._http.json("GET", f"/v1/runtimes/{seg(runtime)}/secret-rules")["data"]]

    def set_rule(
        self, runtime: str, *, secret: str, host: str, header: str, template: str, path: Optional[str] = None, allow_http: bool = False
    ) -> SecretRule:
        """Adds or replaces the rule of (host, header) on a runtime; ``template`` holds ``${secret}`` once. Default: every path, HTTPS only."""
        body = _wire.body(secret=secret, host=host, header=header, template=template, allow_http=allow_http, path=path)
        return SecretRule.from_wire(self._http.json("PUT", f"/v1/runtimes/{seg(runtime)}/secret-rules", json_body=body)["data"])

    def remove_rule(self, runtime: str, *, host: str, header: str) -> SecretRule:
        """Removes the rule of (host, header) from a runtime."""
        data = self._http.json("DELETE", f"/v1/runtimes/{seg(runtime)}/secret-rules", query={"host": host, "header": header})["data"]
        return SecretRule.from_wire(data)
