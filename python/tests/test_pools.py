"""Warm pools through the Python SDK against the real daemon: set, list, remove, and the refusals' errors."""
from __future__ import annotations

import pytest

import runta


def test_set_list_and_remove_a_pool(client: runta.Runta) -> None:
    # min 0 boots nothing: this is the API's round trip (the TypeScript suites cover members and takes).
    pool = client.pools.set("py-pool", min=0, max=2, image="busybox", vcpus=1, memory_mib=64)
    assert pool["name"] == "py-pool" and pool["min"] == 0 and pool["max"] == 2
    assert pool["resources"]["requests"] == {"vcpus": 1, "memory_mib": 64}
    assert [p["name"] for p in client.pools.list()] == ["py-pool"]
    assert client.pools.set("py-pool", min=0)["max"] == 0
    assert client.pools.remove("py-pool")["name"] == "py-pool"
    assert client.pools.list() == []


def test_refusals_are_typed_errors(client: runta.Runta) -> None:
    with pytest.raises(runta.NotFoundError, match="pool"):
        client.pools.remove("no-such-pool")
    with pytest.raises(runta.RuntaError, match="MiB of memory"):
        client.pools.set("too-big", min=1000, max=1000, image="busybox", memory_mib=4096)
    assert client.pools.list() == []
