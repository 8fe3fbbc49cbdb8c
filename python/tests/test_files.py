"""Files and checkpoints against the real daemon: raw and tar round trips, escapes refused, a fork from a checkpoint."""
from __future__ import annotations

import io
import os
import tarfile
from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o640
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_files_round_trip_and_escapes(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime()
    data = os.urandom(3 * 1024 * 1024)
    assert rt.write_file("/tmp/blob", data, mode=0o600) == runta.FilesWritten(1, len(data))
    assert rt.read_file("/tmp/blob") == data
    st = rt.stat("/tmp/blob")
    assert (st.type, st.size, st.mode) == ("file", len(data), 0o600)

    assert rt.upload("/tmp", _tar({"dir/a.txt": b"alpha", "dir/b.txt": b"beta"})).entries == 2
    with tarfile.open(fileobj=io.BytesIO(rt.download("/tmp/dir"))) as tf:
        names = sorted(tf.getnames())
        assert names == ["dir", "dir/a.txt", "dir/b.txt"]
        member = tf.extractfile("dir/a.txt")
        assert member is not None and member.read() == b"alpha"
        assert tf.getmember("dir/b.txt").mode == 0o640

    rt.exec("echo inside > /root/target && ln -s /root/target /tmp/abs-link && ln -s ../../../../.. /tmp/up")
    assert rt.read_file("/tmp/abs-link") == b"inside\n"  # an absolute link resolves in the runtime's root
    with pytest.raises(runta.NotFoundError):
        rt.read_file("/tmp/up/tmp/blob-not-there")
    with pytest.raises(runta.InvalidArgumentError, match=r"'\.\.'"):
        rt.upload("/tmp", _tar({"../../escape": b"x"}))
    with pytest.raises(runta.NotFoundError):
        client.runtimes.stat(rt.id, "/no/such/path")


def test_checkpoint_and_fork(new_runtime: NewRuntime, client: runta.Runta) -> None:
    src = new_runtime()
    src.write_file("/root/prepared", "golden\n")
    name = f"cp-{src.name}"
    cp = src.checkpoint(name)
    assert (cp.display_name, cp.state, cp.kind, cp.source_runtime) == (name, "ready", "full", src.name)
    fork = client.checkpoints.restore(name, f"{src.name}-fork", memory_mib=128, vcpus=0.25)
    try:
        assert fork.read_file("/root/prepared") == b"golden\n"
        src.write_file("/root/prepared", "changed\n")
        assert fork.read_file("/root/prepared") == b"golden\n"
        assert [c.in_use_by for c in client.checkpoints.list() if c.display_name == name] == [[fork.name]]
        with pytest.raises(runta.FailedPreconditionError, match=fork.name):
            client.checkpoints.remove(name)
        with pytest.raises(runta.RuntaError, match="live checkpoints"):
            src.checkpoint(name + "-live", kind="live")
    finally:
        fork.delete()
    assert client.checkpoints.remove(name).display_name == name
    with pytest.raises(runta.NotFoundError):
        client.checkpoints.get(name)
