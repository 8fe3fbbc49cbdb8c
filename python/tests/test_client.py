"""The buffered client against the real daemon: runtimes, pagination, lifecycle, exec, images, version."""
from __future__ import annotations

import io
import re
import tarfile
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

import runta
from conftest import Daemon

NewRuntime = Callable[..., runta.Runtime]


def test_version_health_and_openapi(client: runta.Runta) -> None:
    v = client.version()
    assert v.api == "v1" and re.match(r"\d+\.\d+", v.runta) and v.runc
    assert client.health() is True
    assert client.openapi()["openapi"].startswith("3.")


def test_dashboard_login_link_works_once(client: runta.Runta) -> None:
    import urllib.error
    import urllib.request

    link = client.dashboard_login()
    assert link.url == client.endpoint + f"/ui/login?code={link.code}"
    with urllib.request.urlopen(link.url) as res:
        assert res.status == 200
        assert "HttpOnly; SameSite=Strict" in res.headers["Set-Cookie"]
    try:
        urllib.request.urlopen(link.url)
        raise AssertionError("a login link must work only once")
    except urllib.error.HTTPError as err:
        assert err.code == 401


def test_create_get_and_records(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(vcpus=0.5, memory_mib=256, env={"APP_ENV": "dev"}, labels={"team": "py"})
    assert rt.status == "running" and rt.cached_info.status == "running"
    assert rt.info.resources.requests.vcpus == 0.5 and rt.info.resources.requests.memory_mib == 256
    assert rt.info.env_names == ["APP_ENV"] and rt.info.labels == {"team": "py"} and rt.info.image == "default"
    got = client.runtimes.get(rt.name)
    assert got.id == rt.id and got.info.usage is not None and got.info.usage.memory_limit_bytes == 256 * 1024 * 1024
    assert "usage" in got.info.raw  # the whole wire record stays reachable
    assert rt.info.hostname == rt.name


def test_usage_counts_disk_and_network_io(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(memory_mib=64)
    before = client.runtimes.get(rt.name).info.usage
    assert before is not None and before.disk_write_bytes is not None and isinstance(before.net_rx_bytes, int)
    assert rt.exec(["sh", "-c", "head -c 5M /dev/zero > /var/tmp/f && sync"]).exit_code == 0
    after = client.runtimes.get(rt.name).info.usage
    assert after is not None and after.disk_write_bytes is not None
    assert after.disk_write_bytes - before.disk_write_bytes >= 5 * 1024 * 1024


def test_create_with_a_hostname(new_runtime: NewRuntime) -> None:
    rt = new_runtime(memory_mib=64, hostname="api.internal")
    assert rt.info.hostname == "api.internal"
    assert rt.exec(["hostname", "-f"]).stdout_text == "api.internal\n"


def test_a_description_at_create_and_by_update(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(memory_mib=64, description="nightly ETL")
    assert rt.info.description == "nightly ETL"
    rt.stop()
    assert rt.update(description="owner: data team").description == "owner: data team"
    assert client.runtimes.get(rt.name).info.description == "owner: data team"
    assert client.runtimes.update(rt.name, description="").description == ""


def test_an_exec_timeout_per_runtime(new_runtime: NewRuntime) -> None:
    rt = new_runtime(memory_mib=64, exec_timeout_secs=2)
    assert rt.info.exec_timeout_secs == 2
    started = time.monotonic()
    assert rt.exec(["sleep", "300"]).timed_out
    assert 1.9 <= time.monotonic() - started < 8


def test_a_lifetime(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(memory_mib=64, lifetime_secs=2)
    assert rt.info.lifetime_secs == 2 and rt.info.shutdown_at is not None
    deadline = time.monotonic() + 8
    while client.runtimes.get(rt.name).info.status != "shutdown":
        assert time.monotonic() < deadline, "the lifetime did not shut the runtime down"
        time.sleep(0.2)


def test_an_idle_timeout_suspends_and_an_exec_wakes(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(memory_mib=64, idle_timeout_secs=5)
    assert rt.info.idle_timeout_secs == 5 and rt.info.idle is not None and rt.info.idle["timeout_secs"] == 5
    deadline = time.monotonic() + 20
    while client.runtimes.get(rt.name).info.status != "suspended":
        assert time.monotonic() < deadline, "the idle timeout did not suspend the runtime"
        time.sleep(0.25)
    assert client.runtimes.get(rt.name).info.pause_reason == "idle"
    assert rt.exec("echo awake").stdout_text == "awake\n"
    assert client.runtimes.get(rt.name).info.status == "running"
    assert client.runtimes.update(rt.name, idle_timeout_secs=None).idle is None
    assert rt.update(idle_timeout_secs=60).idle_timeout_secs == 60


def test_create_without_waiting(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(wait=False)
    assert rt.status == "creating"
    deadline = time.monotonic() + 60
    while rt.refresh().status == "creating" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rt.status == "running"


def test_idempotency_key(new_runtime: NewRuntime, client: runta.Runta) -> None:
    key = uuid.uuid4().hex
    name = f"py-idem-{key[:6]}"
    first = new_runtime(name=name, idempotency_key=key)
    again = client.runtimes.create(name, vcpus=0.25, memory_mib=128, idempotency_key=key)
    assert again.id == first.id
    with pytest.raises(runta.AlreadyExistsError):
        client.runtimes.create(name, vcpus=0.5, memory_mib=128, idempotency_key=key)


def test_list_follows_cursors_and_filters(new_runtime: NewRuntime, client: runta.Runta) -> None:
    made = {new_runtime().id for _ in range(3)}
    page = client.runtimes.list_page(limit=2)
    assert len(page) == 2 and page.has_more and page.next_cursor
    rest = client.runtimes.list_page(limit=1000, after=page.next_cursor)
    assert {r.id for r in page} | {r.id for r in rest} >= made and not rest.has_more
    # The iterator, one runtime per request, still sees every runtime exactly once.
    ids = [r.id for r in client.runtimes.list(page_size=1)]
    assert len(ids) == len(set(ids)) and made <= set(ids)
    paused = next(iter(made))
    client.runtimes.pause(paused)
    assert [r.id for r in client.runtimes.list(status="paused")] == [paused]
    assert made - {paused} <= {r.id for r in client.runtimes.list(status=["running", "creating"])}
    assert all(r.cached_info.status == "paused" for r in client.runtimes.list(status=["paused"]))


def test_lifecycle_resize_and_delete(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime()
    assert rt.pause().status == "paused" and rt.status == "paused"
    assert rt.resume().status == "running"
    assert rt.stop().status == "shutdown"
    assert rt.start().status == "running"
    assert rt.resize_memory(512).resources.requests.memory_mib == 512
    info = rt.resize(vcpus=1, memory_mib=256)
    assert info.resources.requests.vcpus == 1 and info.resources.requests.memory_mib == 256
    assert rt.exec(["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]).stdout_text.strip() == str(256 * 1024 * 1024)
    last = rt.delete()
    assert last.id == rt.id
    with pytest.raises(runta.NotFoundError) as e:
        client.runtimes.get(rt.id)
    assert e.value.status == 404 and e.value.request_id and e.value.request_id in str(e.value)


def test_exec_buffered(new_runtime: NewRuntime) -> None:
    rt = new_runtime()
    r = rt.exec(["sh", "-c", 'printf "%s" "$APP_ENV"; pwd >&2; exit 3'], env={"APP_ENV": "dev"}, cwd="/tmp")
    assert (r.exit_code, r.stdout_text, r.stderr_text, r.stdout) == (3, "dev", "/tmp\n", b"dev")
    assert not (r.timed_out or r.oom_killed or r.stdout_truncated) and r.duration_ms >= 0
    assert rt.exec("echo $((6 * 7))").stdout_text == "42\n"  # a string runs through sh -c
    assert rt.exec(["cat"], stdin="häj\n").stdout == "häj\n".encode()
    assert rt.exec(["cat"], stdin=b"bytes in").stdout_text == "bytes in"
    with pytest.raises(runta.InvalidArgumentError, match="exec_stream"):
        rt.exec(["cat"], stdin=b"\xff\xfe")
    big = rt.exec(["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x"], max_output_bytes=1000)
    assert big.stdout_truncated and len(big.stdout) == 1000
    slow = rt.exec(["sleep", "30"], timeout=1)
    assert slow.timed_out and slow.exit_code == 137 and slow.duration_ms < 10_000
    assert rt.exec(["no-such-command"]).exit_code == 127


def test_images(client: runta.Runta, daemon: Daemon, tmp_path: Path) -> None:
    images = {i.name: i for i in client.images.list()}
    assert "default" in images and images["default"].size_bytes > 0
    # Every image says the python3 it carries (runtime_version picks by it); a base image has no parent or packages.
    py = images["default"].python_version
    assert py is not None and py.startswith("3.") and images["default"].parent is None and images["default"].packages == []
    with pytest.raises(runta.InvalidArgumentError, match=f"no image carries Python 2.7; available: Python {py}"):
        client.runtimes.create(runtime_version="2.7")
    events: list[dict] = []
    built = client.images.build("default", on_event=events.append)  # already built: returns it without rebuilding
    assert built.name == "default" and any(e["type"] == "progress" for e in events) and events[-1]["type"] == "done"
    # Import: a gzipped tarball of the busybox image's rootfs (the test daemon's images dir holds it).
    name = f"py-{uuid.uuid4().hex[:6]}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(Path(daemon.images_dir) / "busybox" / "rootfs", arcname=".")
    path = tmp_path / "rootfs.tar.gz"
    path.write_bytes(buf.getvalue())
    image = client.images.import_(name, path)
    assert image.name == name and image.in_use_by == []
    try:
        on_it = client.runtimes.create(f"{name}-rt", image=name, vcpus=0.25, memory_mib=64)
        assert on_it.exec(["busybox", "echo", "from the import"]).stdout_text == "from the import\n"
        with pytest.raises(runta.FailedPreconditionError):
            client.images.remove(name)  # in use
        on_it.delete()
    finally:
        client.images.remove(name)
    assert name not in {i.name for i in client.images.list()}
    with pytest.raises(runta.NotFoundError):
        client.images.remove(name)

