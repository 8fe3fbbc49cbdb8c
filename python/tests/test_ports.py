"""Published ports through the Python SDK against the real daemon: publish, list with URLs, unpublish, the errors,
and the ingress's CA (the ingress itself is tested end to end by the TypeScript suites)."""
from __future__ import annotations

from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def test_publish_list_unpublish(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(image="busybox")
    assert rt.ports() == []
    web = rt.publish(8080)
    assert web["protocol"] == "http" and web["url"].startswith(f"http://8080-{rt.id}.runta.localhost:")
    tls = client.runtimes.publish(rt.name, 8443, protocol="https")
    assert tls["url"].startswith(f"https://8443-{rt.id}.")
    assert [p["port"] for p in rt.ports()] == [8080, 8443]
    with pytest.raises(runta.AlreadyExistsError):
        rt.publish(8080)
    with pytest.raises(runta.InvalidArgumentError):
        rt.publish(70000)
    with pytest.raises(runta.InvalidArgumentError):
        rt.publish(9000, protocol="udp")
    assert rt.unpublish(8080)["port"] == 8080
    with pytest.raises(runta.NotFoundError):
        rt.unpublish(8080)
    assert [p["port"] for p in client.runtimes.ports(rt.id)] == [8443]


def test_create_publishes_ports(new_runtime: NewRuntime) -> None:
    rt = new_runtime(image="busybox", ports=[{"port": 8080}, {"port": 5432, "protocol": "tcp"}])
    got = {p["port"]: p for p in rt.ports()}
    assert got[8080]["url"].startswith(f"http://8080-{rt.id}.")
    assert got[5432]["url"].startswith("tcp://127.0.0.1:") and got[5432]["host_port"] > 0


def test_ingress_reports_its_ca(client: runta.Runta) -> None:
    info = client.ingress()
    assert info["domain"] == "runta.localhost"
    assert info["ca_certificate"].startswith("-----BEGIN CERTIFICATE-----")
