"""Volumes against the real daemon: one runtime writes, another (read-only) reads, the volume outlives both."""
from __future__ import annotations

from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def test_volume_shared_read_only_and_outliving(new_runtime: NewRuntime, client: runta.Runta) -> None:
    vol = client.volumes.create("py-vol", size_mib=32)
    try:
        assert (vol.name, vol.size_bytes, vol.in_use_by) == ("py-vol", 32 * 2**20, [])
        writer = new_runtime(image="busybox", volumes=[runta.VolumeMount("py-vol", "/work")])
        assert writer.info.volumes == [runta.VolumeMount("py-vol", "/work", False)]
        assert writer.exec(["sh", "-c", "echo hi > /work/f"]).exit_code == 0
        reader = new_runtime(image="busybox", volumes=[runta.VolumeMount("py-vol", "/ro", read_only=True)])
        assert reader.exec(["cat", "/ro/f"]).stdout_text == "hi\n"
        assert reader.exec(["sh", "-c", "echo x > /ro/g"]).exit_code != 0
        assert sorted(client.volumes.get("py-vol").in_use_by) == sorted([writer.name, reader.name])
        with pytest.raises(runta.FailedPreconditionError):
            client.volumes.remove("py-vol")
        writer.delete()
        reader.delete()
        assert [v.name for v in client.volumes.list()].count("py-vol") == 1
    finally:
        for rt in client.runtimes.list():
            if any(m.volume == "py-vol" for m in rt.info.volumes):
                rt.delete()
        client.volumes.remove("py-vol")
    with pytest.raises(runta.NotFoundError):
        client.volumes.get("py-vol")


def test_volume_resize_grows_and_refuses_shrinking(client: runta.Runta) -> None:
    client.volumes.create("py-grow", size_mib=16)
    try:
        grown = client.volumes.resize("py-grow", 64)
        assert (grown.name, grown.size_bytes) == ("py-grow", 64 * 2**20)
        assert client.volumes.get("py-grow").size_bytes == 64 * 2**20
        with pytest.raises(runta.InvalidArgumentError, match="volumes only grow"):
            client.volumes.resize("py-grow", 32)
    finally:
        client.volumes.remove("py-grow")
