"""Secrets and rules against the real daemon: values go in and never come back; rules round-trip; errors are typed."""
from __future__ import annotations

from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def test_secret_round_trip_never_returns_the_value(new_runtime: NewRuntime, client: runta.Runta) -> None:
    value = "sk-python-0123456789abcdef"
    s = client.secrets.set("PY_API_KEY", value)
    assert s.display_name == "PY_API_KEY" and s.used_by == []
    rt = new_runtime()
    assert rt.exec("printenv PY_API_KEY").stdout_text == "runta-secret-stub\n"
    rule = client.secrets.set_rule(rt.name, secret="PY_API_KEY", host="api.example.com", header="Authorization", template="Bearer ${secret}", path="/v1/*")
    assert (rule.host, rule.path, rule.allow_http) == ("api.example.com", "/v1/*", False)
    assert [r.header for r in client.secrets.rules(rt.name)] == ["Authorization"]
    listed = client.secrets.list()
    assert [x.display_name for x in listed] == ["PY_API_KEY"] and listed[0].used_by[0].host == "api.example.com"
    assert value not in repr([x.raw for x in listed]) and value not in repr(client.secrets.get("PY_API_KEY").raw)
    with pytest.raises(runta.FailedPreconditionError, match="used by 1 rule"):
        client.secrets.remove("PY_API_KEY")
    client.secrets.remove_rule(rt.name, host="api.example.com", header="authorization")
    assert client.secrets.remove("PY_API_KEY").display_name == "PY_API_KEY"


def test_bad_input_is_typed(new_runtime: NewRuntime, client: runta.Runta) -> None:
    with pytest.raises(runta.InvalidArgumentError, match="empty"):
        client.secrets.set("EMPTY_ONE", "")
    with pytest.raises(runta.NotFoundError):
        client.secrets.get("NO_SUCH_SECRET")
    rt = new_runtime()
    client.secrets.set("PY_K", "v")
    try:
        with pytest.raises(runta.InvalidArgumentError, match="exactly once"):
            client.secrets.set_rule(rt.name, secret="PY_K", host="api.example.com", header="Authorization", template="Bearer")
    finally:
        client.secrets.remove("PY_K")
