"""``type="browser"`` through the Python SDK against the real daemon: the field reaches the daemon, which marks the
runtime a browser runtime and publishes its DevTools port, and ``get`` reads its CDP endpoints into
``RuntimeInfo.browser``. Chromium itself (the browser image, minutes to build from the Debian mirror) and a CDP client
connecting are tested end to end by test/integration/browser.test.ts; here the runtime stands on busybox, where the
DevTools port has nobody behind it, so ``ws`` stays None."""
from __future__ import annotations

from typing import Callable

import pytest

import runta

NewRuntime = Callable[..., runta.Runtime]


def test_a_browser_runtime_has_its_devtools_port_and_cdp_endpoints(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(image="busybox", type="browser")
    assert rt.info.labels["runta.type"] == "browser"
    assert [(p["port"], p["protocol"]) for p in rt.info.ports] == [(9222, "http")]
    browser = client.runtimes.get(rt.id).info.browser
    assert isinstance(browser, runta.BrowserEndpoints)
    assert browser.http.startswith(f"http://9222-{rt.id}.runta.localhost:")
    assert browser.ws is None


def test_a_default_runtime_has_no_browser_endpoints(new_runtime: NewRuntime, client: runta.Runta) -> None:
    rt = new_runtime(image="busybox", type="default")
    assert "runta.type" not in rt.info.labels and rt.info.ports == []
    assert client.runtimes.get(rt.id).info.browser is None


def test_an_unknown_type_is_refused_by_the_daemon(client: runta.Runta) -> None:
    with pytest.raises(runta.InvalidArgumentError, match='type: must be one of "default", "browser"'):
        client.runtimes.create("py-no-such-type", type="desktop")  # type: ignore[arg-type]
