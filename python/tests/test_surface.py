"""The SDK keeps in step with the daemon: every route in its OpenAPI document has a Python method (runta.routes)."""
from __future__ import annotations

import inspect

import runta
from runta.routes import NOT_IN_SDK, ROUTES

METHODS = {"get", "post", "put", "patch", "delete", "head"}


def test_every_route_has_a_python_method(client: runta.Runta) -> None:
    doc = client.openapi()
    served = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops if m in METHODS}
    missing = sorted(served - ROUTES.keys() - NOT_IN_SDK.keys())
    assert not missing, (
        "routes without a Python method (add each to python/src/runta/routes.py ROUTES and write the method; "
        f"see python/README.md, 'Adding a route'): {missing}"
    )
    stale = sorted((ROUTES.keys() | NOT_IN_SDK.keys()) - served)
    assert not stale, f"runta.routes names routes the daemon does not serve: {stale}"
    both = sorted(ROUTES.keys() & NOT_IN_SDK.keys())
    assert not both, f"routes both mapped and left out in runta.routes: {both}"
    assert all(reason.strip() for reason in NOT_IN_SDK.values()), "every route left out says why"


def test_every_mapped_method_exists_and_is_documented() -> None:
    for route, target in ROUTES.items():
        cls_name, _, method = target.partition(".")
        cls = getattr(runta, cls_name, None)
        assert inspect.isclass(cls), f"{route}: runta.{cls_name} is not a class of the package"
        fn = getattr(cls, method, None)
        assert callable(fn), f"{route}: {target} does not exist"
        assert inspect.getdoc(fn), f"{route}: {target} has no docstring"
