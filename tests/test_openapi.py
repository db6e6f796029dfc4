"""The combined OpenAPI document: every endpoint documented with a summary and its errors."""

from __future__ import annotations

from typing import Any

from tests.support.apps import Running


async def test_every_operation_has_a_summary_and_declares_problem_responses(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    undocumented = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not operation.get("summary"):
                undocumented.append(f"{method.upper()} {path}: no summary")
            errors = {
                code for code in operation.get("responses", {}) if code.startswith(("4", "5"))
            }
            if not errors:
                undocumented.append(f"{method.upper()} {path}: no error responses")
            for code in errors:
                content = operation["responses"][code].get("content", {})
                if "application/problem+json" not in content and "application/json" not in content:
                    undocumented.append(f"{method.upper()} {path}: {code} has no body schema")

    assert undocumented == []
    assert len(spec["paths"]) > 20
    assert {"/inbox/v1/inbound/email", "/translation/v1/detect"} <= set(spec["paths"])


async def test_the_docs_page_is_served_without_a_token(app: Running) -> None:
    docs = await app.client.get("/docs")

    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


async def test_every_schema_reference_resolves_after_merging(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    missing = {ref for ref in _refs(spec) if ref.rsplit("/", 1)[1] not in schemas}

    assert missing == set()
    assert {"InboxCallbackCreate", "RoutingCallbackCreate"} <= set(schemas)
