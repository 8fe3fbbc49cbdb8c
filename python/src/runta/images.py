"""``runta.images``: root-filesystem images (list, build, import, remove)."""
from __future__ import annotations

# builtins.list: in a class with a method named list, a bare list[...] in a later annotation names that method.
import builtins
import json
import os
from typing import IO, Any, Callable, Optional, Union

from ._http import Transport, seg
from .errors import InternalError, UnavailableError, error_for_code
from .models import Image


class Images:
    """``runta.images``: root-filesystem images."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(self) -> builtins.list[Image]:
        """Every image, with the runtimes using it."""
        return [Image.from_wire(i) for i in self._http.json("GET", "/v1/images")["data"]]

    def build(
        self,
        name: str = "default",
        *,
        force: bool = False,
        on_event: Optional[Callable[[dict[str, Any]], None]] = None,
        timeout: float = 600.0,
    ) -> Image:
        """Builds an image with debootstrap on the daemon's host (about a minute; once per host).

        ``on_event`` sees each progress line (``{"type": "progress", "message", "percent"?}``) as it arrives.
        ``timeout`` (default 600 s) bounds the wait for each line, not the whole build.
        """
        result: Optional[Image] = None
        with self._http.open("POST", "/v1/images/build", json_body={"name": name, "force": force}, timeout=timeout) as res:
            try:
                for line in res.lines():
                    if not line.strip():
                        continue
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        raise InternalError("the daemon sent an image build line that is not JSON") from None
                    if on_event is not None:
                        on_event(ev)
                    if ev.get("type") == "error":
                        raise error_for_code(ev["error"]["code"], ev["error"]["message"])
                    if ev.get("type") == "done":
                        result = Image.from_wire(ev["data"])
            except (OSError, TimeoutError) as e:
                raise self._http.unreachable(e) from None
        if result is None:
            raise UnavailableError("the image build stream ended before the build finished; check `runta image ls` and the daemon log")
        return result

    def import_(self, name: str, tarball: Union[bytes, IO[bytes], "os.PathLike[str]", str], *, timeout: float = 600.0) -> Image:
        """Uploads a root-filesystem tarball (plain or gzip, told apart by its first bytes) as image ``name``.

        ``tarball`` is the bytes, an open binary file, or a path. Named ``import_`` because ``import`` is a keyword.
        """
        if isinstance(tarball, (str, os.PathLike)):
            with open(tarball, "rb") as f:
                return self.import_(name, f, timeout=timeout)
        if isinstance(tarball, bytes):
            head = tarball[:2]
        else:
            peek = getattr(tarball, "peek", None)
            head = peek(2)[:2] if peek else b""
            if not head and tarball.seekable():
                head = tarball.read(2)
                tarball.seek(-len(head), os.SEEK_CUR)
        gzip = head == b"\x1f\x8b"
        data = self._http.json(
            "POST",
            "/v1/images/import",
            query={"name": name},
            body=tarball,
            content_type="application/gzip" if gzip else "application/x-tar",
            timeout=timeout,
        )["data"]
        return Image.from_wire(data)

    def remove(self, name: str) -> None:
        """Removes an image (refused while runtimes use it)."""
        self._http.json("DELETE", f"/v1/images/{seg(name)}")
