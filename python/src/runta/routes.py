"""Every REST route of the daemon and the Python method that calls it: the one table to extend when a route is added.

tests/test_surface.py compares this table with the daemon's OpenAPI document (GET /v1/openapi.json): a route the
document lists and this table lacks fails the test, and so does an entry whose route is gone or whose method does not
exist. A route that is not for API clients (a browser's login, say) goes into NOT_IN_SDK instead, with the reason.
See python/README.md, "Adding a route".
"""
from __future__ import annotations

#: (HTTP method, OpenAPI path) → "Class.method" in this package (classes as exported by ``runta``).
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v1/health"): "Runta.health",
    ("GET", "/v1/version"): "Runta.version",
    ("GET", "/v1/openapi.json"): "Runta.openapi",
    ("POST", "/v1/dashboard/login"): "Runta.dashboard_login",
    ("POST", "/v1/runtimes"): "Runtimes.create",
    ("GET", "/v1/runtimes"): "Runtimes.list",
    ("GET", "/v1/runtimes/{rt}"): "Runtimes.get",
    ("PATCH", "/v1/runtimes/{rt}"): "Runtimes.update",
    ("DELETE", "/v1/runtimes/{rt}"): "Runtimes.delete",
    ("POST", "/v1/runtimes/{rt}/start"): "Runtimes.start",
    ("POST", "/v1/runtimes/{rt}/stop"): "Runtimes.stop",
    ("POST", "/v1/runtimes/{rt}/pause"): "Runtimes.pause",
    ("POST", "/v1/runtimes/{rt}/resume"): "Runtimes.resume",
    ("POST", "/v1/runtimes/{rt}/exec"): "Runtimes.exec",
    ("GET", "/v1/runtimes/{rt}/exec/stream"): "Runtimes.exec_stream",
    ("GET", "/v1/runtimes/{rt}/egress"): "Runtimes.egress",
    ("PUT", "/v1/runtimes/{rt}/egress"): "Runtimes.set_egress",
    ("GET", "/v1/runtimes/{rt}/egress/events"): "Runtimes.egress_events",
    ("GET", "/v1/secrets"): "Secrets.list",
    ("GET", "/v1/secrets/{name}"): "Secrets.get",
    ("PUT", "/v1/secrets/{name}"): "Secrets.set",
    ("DELETE", "/v1/secrets/{name}"): "Secrets.remove",
    ("GET", "/v1/runtimes/{rt}/secret-rules"): "Secrets.rules",
    ("PUT", "/v1/runtimes/{rt}/secret-rules"): "Secrets.set_rule",
    ("DELETE", "/v1/runtimes/{rt}/secret-rules"): "Secrets.remove_rule",
    ("GET", "/v1/runtimes/{rt}/ports"): "Runtimes.ports",
    ("POST", "/v1/runtimes/{rt}/ports"): "Runtimes.publish",
    ("DELETE", "/v1/runtimes/{rt}/ports/{port}"): "Runtimes.unpublish",
    ("GET", "/v1/ingress"): "Runta.ingress",
    ("GET", "/v1/runtimes/{rt}/files"): "Runtimes.download",
    ("PUT", "/v1/runtimes/{rt}/files"): "Runtimes.upload",
    ("GET", "/v1/runtimes/{rt}/files/stat"): "Runtimes.stat",
    ("POST", "/v1/runtimes/{rt}/checkpoints"): "Runtimes.checkpoint",
    ("GET", "/v1/checkpoints"): "Checkpoints.list",
    ("GET", "/v1/checkpoints/{cp}"): "Checkpoints.get",
    ("DELETE", "/v1/checkpoints/{cp}"): "Checkpoints.remove",
    ("POST", "/v1/checkpoints/{cp}/restore"): "Checkpoints.restore",
    ("POST", "/v1/runtimes/{rt}/execs"): "Execs.run",
    ("GET", "/v1/runtimes/{rt}/execs"): "Execs.list",
    ("GET", "/v1/runtimes/{rt}/execs/{id}"): "Execs.get",
    ("POST", "/v1/runtimes/{rt}/execs/{id}/signal"): "Execs.signal",
    ("GET", "/v1/runtimes/{rt}/execs/{id}/attach"): "Execs.attach",
    ("POST", "/v1/volumes"): "Volumes.create",
    ("GET", "/v1/volumes"): "Volumes.list",
    ("GET", "/v1/volumes/{vol}"): "Volumes.get",
    ("PATCH", "/v1/volumes/{vol}"): "Volumes.resize",
    ("DELETE", "/v1/volumes/{vol}"): "Volumes.remove",
    ("GET", "/v1/images"): "Images.list",
    ("POST", "/v1/images/build"): "Images.build",
    ("POST", "/v1/images/import"): "Images.import_",
    ("DELETE", "/v1/images/{name}"): "Images.remove",
    ("GET", "/v1/pools"): "Pools.list",
    ("PUT", "/v1/pools/{pool}"): "Pools.set",
    ("DELETE", "/v1/pools/{pool}"): "Pools.remove",
}

#: Routes the daemon serves that the SDK deliberately leaves out: (HTTP method, OpenAPI path) → why.
NOT_IN_SDK: dict[tuple[str, str], str] = {}
