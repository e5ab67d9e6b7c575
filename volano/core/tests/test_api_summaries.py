"""Every API operation has a summary written for people ("List assignment rules"), never the one
django-ninja makes up from the function's name ("Rule List").

The routers are found by walking every `volano/**/*api.py` and `volano/api/*.py` (the routers that
compose several domains), so a new router or a new route without
an explicit `summary=` fails here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ninja import Router

import volano
from volano.api import api as ninja_api


def _routers() -> list[tuple[str, Router]]:
    found = []
    root = Path(volano.__file__).parent
    # api.py, activity_api.py, emails/templating/api.py; not the tests' own modules
    paths = {p for p in root.glob("**/*api.py") if "tests" not in p.parts}
    paths |= set(root.glob("api/*.py"))
    for path in sorted(paths - {root / "api" / "__init__.py"}):
        dotted = ".".join(path.relative_to(root).with_suffix("").parts)
        module = importlib.import_module(f"volano.{dotted}")
        found += [
            (module.__name__, obj) for obj in vars(module).values() if isinstance(obj, Router)
        ]
    return found


def _operations():
    for module, router in _routers():
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                yield module, path, operation


def test_every_domain_router_is_walked():
    modules = {module for module, _ in _routers()}
    assert {"volano.handoff.api", "volano.api.contacts", "volano.core.api"} <= modules


def test_no_operation_has_ninjas_generated_summary():
    generated = []
    for module, path, operation in _operations():
        auto = operation.view_func.__name__.title().replace("_", " ")
        if operation.summary == auto:
            generated.append(f"{module} {operation.methods} {path}: {operation.summary!r}")
    assert generated == []


def test_the_schema_carries_the_written_summaries():
    schema = ninja_api.get_openapi_schema()
    summaries = {
        (method.upper(), path): op["summary"]
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    assert summaries[("GET", "/api/v1/assignment-rules")] == "List assignment rules"
    assert summaries[("POST", "/api/v1/notifications/{notification_id}/read")] == (
        "Mark a notification as read"
    )
    count = sum(1 for _ in _operations())
    assert len(summaries) == count
