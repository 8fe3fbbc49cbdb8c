"""Egress: a runtime's network and policy, and its audit trail, against the real daemon (no traffic leaves the host:
the denied attempt is refused by the daemon's own proxy before anything is dialled)."""
from __future__ import annotations

from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def test_policy_round_trip_and_validation(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(egress={"mode": "allowlist", "allow": ["Deb.Debian.org"]})
    e = rt.egress()
    assert e.network == "nat" and e.address is not None and e.runtime == rt.name
    assert e.policy == runta.EgressPolicy("allowlist", ["deb.debian.org"], [])
    got = client.runtimes.set_egress(rt.name, "denylist", deny=["*.example.com", "10.1.2.3"])
    assert got.policy.deny == ["*.example.com", "10.1.2.3/32"] and got.policy.allow == []
    assert rt.set_egress("open").policy.mode == "open"
    with pytest.raises(runta.InvalidArgumentError):
        rt.set_egress("allowlist", allow=["not a host!"])
    with pytest.raises(runta.InvalidArgumentError):
        rt.set_egress("open", allow=["a.com"])


def test_a_refused_connection_is_an_event(new_runtime: NewRuntime) -> None:
    rt = new_runtime(egress={"mode": "allowlist", "allow": ["allowed.invalid"]})
    # Port 80 to the gateway goes to the daemon's proxy, which refuses a name the allowlist lacks with a 403.
    gw = rt.exec("sed -n 's/^nameserver //p' /etc/resolv.conf").stdout_text.strip()
    py = (
        "import http.client,sys; c=http.client.HTTPConnection(sys.argv[1],80,timeout=5); "
        "c.request('GET','/',headers={'Host':'denied.invalid'}); print(c.getresponse().status)"
    )
    assert rt.exec(["python3", "-c", py, gw]).stdout_text.strip() == "403"
    events = rt.egress_events()
    assert [(e.protocol, e.host, e.verdict, e.rule) for e in events] == [("http", "denied.invalid", "denied", "mode:allowlist")]
    assert rt.egress_events(after=events[-1].seq) == []


def test_network_none(new_runtime: NewRuntime) -> None:
    rt = new_runtime(network="none")
    e = rt.egress()
    assert e.network == "none" and e.address is None
    with pytest.raises(runta.FailedPreconditionError):
        rt.set_egress("open")
