"""The combined OpenAPI document: every endpoint documented with a summary and its errors."""

from __future__ import annotations

import json
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


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def _content(response: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = response.get("content", {})
    return content


async def test_no_operation_documents_the_frameworks_validation_error(app: Running) -> None:
    """The server answers invalid input 422 as problem+json, never FastAPI's default body."""
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()

    framework = [
        label
        for label, operation in _operations(spec)
        if "ValidationError" in json.dumps(operation.get("responses", {}))
    ]
    # Every operation validates something: at least that no path or query holds NUL.
    undeclared = [
        label
        for label, operation in _operations(spec)
        if "application/problem+json" not in _content(operation["responses"].get("422", {}))
    ]

    assert framework == []
    assert undeclared == []
    assert {"HTTPValidationError", "ValidationError"}.isdisjoint(spec["components"]["schemas"])


async def test_every_problem_response_carries_the_problem_schema(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    wrong = []
    for label, operation in _operations(spec):
        for code, response in operation.get("responses", {}).items():
            if not code.startswith(("4", "5")):
                continue
            content = response.get("content", {})
            if set(content) != {"application/problem+json"}:
                wrong.append(f"{label} {code}: media types {sorted(content)}")
                continue
            ref = content["application/problem+json"].get("schema", {}).get("$ref", "")
            if ref != "#/components/schemas/Problem":
                wrong.append(f"{label} {code}: schema {content['application/problem+json']}")

    assert wrong == []
    assert {"type", "title", "status", "code"} <= set(schemas["Problem"]["required"])


async def test_the_fax_webhook_documents_its_multipart_and_json_bodies(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    body = spec["paths"]["/inbox/v1/inbound/faxes"]["post"].get("requestBody", {})
    content = body.get("content", {})

    assert body.get("required") is True
    assert set(content) == {"multipart/form-data", "application/json"}
    form = content["multipart/form-data"]["schema"]
    assert set(form["required"]) == {"document", "fax_id", "from"}
    assert form["properties"]["document"]["format"] == "binary"
    assert {"to", "pages", "received_at", "ocr_text"} <= set(form["properties"])
    assert {"content_type", "filename"}.isdisjoint(form["properties"])  # taken from the part
    as_json = content["application/json"]["schema"]
    assert set(as_json["required"]) == {"document", "fax_id", "from"}
    assert {"content_type", "filename", "pages", "received_at"} <= set(as_json["properties"])
    assert as_json["additionalProperties"] is False


async def test_every_operation_that_needs_a_token_declares_the_503_of_an_outage(
    app: Running,
) -> None:
    """A token is checked against the database (or the inbox, from another service): an
    operation that needs one answers 503 with Retry-After while that is down. The metrics'
    token is a setting, and their database figures are left out while it is down."""
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()

    undeclared = [
        label
        for label, operation in _operations(spec)
        if "401" in operation.get("responses", {}) and "503" not in operation["responses"]
        if label != "GET /metrics"
    ]

    assert undeclared == []
