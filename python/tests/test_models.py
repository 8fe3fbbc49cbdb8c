"""Request bodies and records, both directions of the wire (runta._wire), without a daemon: what a method was given
becomes the body (None left out), and a wire object becomes its record field by field, nested records by type."""
from __future__ import annotations

import pytest

import runta
from runta._wire import body, create_body

RUNTIME = {
    "id": "0b7c3f0e-6d1e-4c43-9a53-5f2a4c1d9e11",
    "name": "chrome",
    "status": "running",
    "image": "browser",
    "resources": {"requests": {"vcpus": 1, "memory_mib": 1024, "disk_size_gib": 10}},
    "volumes": [{"volume": "data", "path": "/work", "read_only": True}],
    "env_names": ["A"],
    "env_digest": "ab12",
    "labels": {"runta.type": "browser"},
    "description": "",
    "exec_timeout_secs": None,
    "lifetime_secs": None,
    "shutdown_at": None,
    "created_at": "2026-11-26T10:00:00.000Z",
    "updated_at": "2026-11-26T10:00:01.000Z",
    "started_at": "2026-11-26T10:00:01.000Z",
    "revision": 3,
    "last_error": None,
    "idle_timeout_secs": 300,
    "last_activity_at": None,
    "exit_code": None,
    "pause_reason": None,
    "idle": {"timeout_secs": 300},
    "ports": [{"port": 9222, "protocol": "http", "url": "http://9222-x.runta.localhost:7480/"}],
    "usage": {"memory_bytes": 1, "memory_limit_bytes": 2, "cpu_usage_ns": 3, "pids": 4, "net_rx_bytes": None},
    "browser": {"ws": "ws://9222-x.runta.localhost:7480/devtools/browser/1", "http": "http://9222-x.runta.localhost:7480"},
    "a_field_of_a_newer_daemon": 1,
}


def test_a_runtime_record_reads_every_field_and_nested_records_by_type() -> None:
    info = runta.RuntimeInfo.from_wire(RUNTIME)
    assert info.resources == runta.Resources(runta.ResourceRequests(vcpus=1, memory_mib=1024))
    assert info.volumes == [runta.VolumeMount("data", "/work", read_only=True)]
    assert info.usage == runta.Usage(1, 2, 3, 4)
    assert info.browser == runta.BrowserEndpoints(ws=RUNTIME["browser"]["ws"], http=RUNTIME["browser"]["http"])  # type: ignore[index]
    assert (info.idle_timeout_secs, info.idle, info.labels, info.env_names) == (300, {"timeout_secs": 300}, {"runta.type": "browser"}, ["A"])
    assert info.ports[0]["port"] == 9222
    assert info.raw["a_field_of_a_newer_daemon"] == 1 and info.hostname == "chrome"


def test_fields_an_older_daemon_leaves_out_take_their_defaults_and_a_missing_required_one_is_an_error() -> None:
    old = {k: v for k, v in RUNTIME.items() if k not in ("browser", "usage", "ports", "volumes", "exit_code", "description", "env_names")}
    info = runta.RuntimeInfo.from_wire(old)
    assert (info.browser, info.usage, info.ports, info.volumes, info.exit_code, info.description, info.env_names) == (None, None, [], [], None, "", [])
    with pytest.raises(KeyError, match="revision"):
        runta.RuntimeInfo.from_wire({k: v for k, v in RUNTIME.items() if k != "revision"})


def test_a_record_does_not_share_the_wire_objects_lists() -> None:
    wire = {"id": "v", "name": "data", "size_bytes": 1, "used_bytes": None, "created_at": "t", "in_use_by": ["a"]}
    volume = runta.Volume.from_wire(wire)
    wire["in_use_by"].append("b")  # type: ignore[attr-defined]
    assert volume.in_use_by == ["a"]


def test_records_that_need_more_than_their_keys() -> None:
    event = runta.EgressEvent.from_wire({
        "seq": 1, "time": "t", "protocol": "tls", "host": "h", "ip": None, "port": 443, "verdict": "allowed", "rule": "open",
        "reason": None, "bytes_out": 1, "bytes_in": 2, "injected": [{"secret": "KEY", "header": "Authorization"}],
    })
    assert event.injected == [("KEY", "Authorization")]
    secret = runta.Secret.from_wire({
        "id": "s", "display_name": "KEY", "created_at": "t", "updated_at": "t",
        "used_by": [{"runtime": "rt", "runtime_id": "i", "host": "h", "header": "Authorization"}],
    })
    assert secret.used_by == [runta.SecretUse("rt", "i", "h", "Authorization")]


def test_a_body_holds_what_was_given() -> None:
    assert body(a=1, b=None, c=False, d=(1, 2), e={"k": "v"}) == {"a": 1, "c": False, "d": [1, 2], "e": {"k": "v"}}
    assert create_body(None) == {}
    assert create_body(
        "w", vcpus=2, memory_mib=None, env={"A": "1"}, volumes=[runta.VolumeMount("data", "/work")], type="browser", idle_timeout_secs=None,
    ) == {
        "name": "w",
        "resources": {"requests": {"vcpus": 2}},
        "env": {"A": "1"},
        "volumes": [{"volume": "data", "path": "/work", "read_only": False}],
        "type": "browser",
    }


def test_a_record_declared_with_the_union_operator_converts_like_optional() -> None:
    from dataclasses import dataclass

    from runta._wire import record

    @dataclass(frozen=True)
    class Holder:
        usage: runta.Usage | None
        either: int | str | None = None

    got = record(Holder, {"usage": {"memory_bytes": 1, "memory_limit_bytes": 2, "cpu_usage_ns": 3, "pids": 4}, "either": "x"})
    assert got == Holder(runta.Usage(1, 2, 3, 4), "x")
