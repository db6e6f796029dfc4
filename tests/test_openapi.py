"""The combined OpenAPI document: every endpoint documented with a summary and its errors."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from shared.auth import Role
from tests.inbox.test_attachment_download import PDF, files_of, lead, receive, with_files
from tests.inbox.test_outbound import start_conversation, supervisor
from tests.support.apps import SERVICE_TOKEN, Running


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


async def test_the_docs_page_loads_nothing_from_elsewhere(app: Running) -> None:
    """On a closed network the page still works: every file it loads is served here."""
    docs = await app.client.get("/docs")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    answers = {url: await app.client.get(url) for url in loaded}

    assert loaded, docs.text
    assert [url for url in loaded if not url.startswith("/")] == []
    assert {url: answer.status_code for url, answer in answers.items()} == dict.fromkeys(
        loaded, 200
    )
    script = next(answer for url, answer in answers.items() if url.endswith(".js"))
    assert "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text


async def test_a_missing_docs_file_is_a_problem_in_the_callers_language(app: Running) -> None:
    answer = await app.client.get("/docs-assets/nope.js", headers={"Accept-Language": "fr"})

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["content-language"] == "fr"


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


def _json_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    media: dict[str, Any] | None = content.get("application/json")
    return media


async def test_every_operation_that_decodes_a_body_declares_its_malformed_body(
    app: Running,
) -> None:
    """A JSON or form body that cannot be decoded is 400 request.malformed_body (problem+json)."""
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()

    undeclared = [
        label
        for label, operation in _operations(spec)
        if set(operation.get("requestBody", {}).get("content", {}))
        & {"application/json", "multipart/form-data"}
        and "application/problem+json" not in _content(operation["responses"].get("400", {}))
    ]
    # Each operation is tried with the roles in turn: a caller it refuses is told so first (403).
    tokens = [
        await app.token(Role.ADMIN),
        await app.token(Role.SUPERVISOR),
        await app.token(Role.AGENT, agent_id=uuid.uuid4()),
        await app.token(Role.GATEWAY),
        SERVICE_TOKEN,
    ]
    answered = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if _json_body(operation) is None:
                continue
            url = path.replace("{", "").replace("}", "")
            for token in tokens:
                answer = await app.client.request(
                    method,
                    url,
                    content=b"\xff",
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {token}",
                    },
                )
                if answer.status_code != 403:
                    break
            answered[f"{method.upper()} {path}"] = (answer.status_code, answer.json()["code"])

    assert undeclared == []
    assert len(answered) > 20
    assert {
        label: found
        for label, found in answered.items()
        if found != (400, "request.malformed_body")
    } == {}


def _schema(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    for option in node.get("anyOf", []):
        if "$ref" in option:
            return _schema(spec, option)
    return node


def _examples(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [item["value"] for item in media["examples"].values()]
    found: list[Any] = _schema(spec, media.get("schema", {})).get("examples", [])
    return found


async def test_every_json_request_body_shows_examples_the_server_accepts(app: Running) -> None:
    """Ops copy the example from the docs: it must pass the server's checks of the body. Path
    ids are made up, so an answer may be 404 or a refusal on the state: never a field error."""
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    tokens = {
        "/inbox/v1/inbound/": f"Bearer {await app.token(Role.GATEWAY)}",
        "/inbox/v1/events": f"Bearer {SERVICE_TOKEN}",
        "/routing/v1/events": f"Bearer {SERVICE_TOKEN}",
        "/routing/v1/callbacks": f"Bearer {SERVICE_TOKEN}",
        "/routing/v1/availability": f"Bearer {SERVICE_TOKEN}",
        "/routing/v1/handovers/check": f"Bearer {SERVICE_TOKEN}",
        "/inbox/v1/auth/introspect": f"Bearer {SERVICE_TOKEN}",
    }
    admin_token = f"Bearer {await app.token(Role.ADMIN)}"
    without, refused = [], {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            media = _json_body(operation)
            if media is None:
                continue
            label = f"{method.upper()} {path}"
            examples = _examples(spec, media)
            if not examples:
                without.append(label)
            url = re.sub(r"\{[^}]+\}", lambda m: _path_value(m.group(0)), path)
            token = next((t for p, t in tokens.items() if path.startswith(p)), admin_token)
            if path.startswith("/inbox/v1/inbound/"):
                continue  # the gateways' signature is checked on the body: tested in tests/inbox
            for example in examples:
                answer = await app.client.request(
                    method, url, json=example, headers={"Authorization": token}
                )
                if answer.status_code == 422 and answer.json()["code"] == "request.invalid":
                    refused[label] = answer.json()["errors"]
            # The check above means something only if a bad body does reach the validation.
            broken = await app.client.request(
                method, url, json={"not_a_field": 1}, headers={"Authorization": token}
            )
            if (broken.status_code, broken.json()["code"]) != (422, "request.invalid"):
                refused[label] = f"a bad body is answered {broken.status_code}"

    assert without == []
    assert refused == {}


def _path_value(parameter: str) -> str:
    return (
        "billing.reminder"
        if parameter == "{key}"
        else ("billing_adjusted" if parameter == "{code}" else str(uuid.uuid4()))
    )


async def test_the_attachment_download_documents_its_types_and_ranges(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    operation = spec["paths"][
        "/inbox/v1/conversations/{conversation_id}/attachments/{attachment_id}"
    ]["get"]
    responses = operation["responses"]

    assert set(responses["200"]["content"]) == {"*/*"}
    assert responses["200"]["content"]["*/*"]["schema"] == {"type": "string", "format": "binary"}
    assert "206" in responses
    assert {"400", "416"} <= set(responses)
    assert "Range" in {parameter["name"] for parameter in operation["parameters"]}


async def test_a_range_the_file_cannot_serve_is_a_problem_in_english_and_french(
    app: Running,
) -> None:
    raw = with_files(("facture_été.pdf", PDF, "application/pdf"))
    conversation = await receive(app, raw)
    url = (
        f"/inbox/v1/conversations/{conversation['id']}/attachments/"
        f"{files_of(conversation)['facture_été.pdf']['id']}"
    )
    headers = await lead(app)

    part = await app.client.get(url, headers={**headers, "Range": "bytes=0-7"})
    backwards = await app.client.get(
        url, headers={**headers, "Range": "bytes=5-2", "Accept-Language": "en"}
    )
    past = await app.client.get(url, headers={**headers, "Range": "bytes=999-"})

    assert (part.status_code, part.content) == (206, PDF[:8])
    assert backwards.status_code == 400
    assert backwards.headers["content-type"] == "application/problem+json"
    assert backwards.json()["code"] == "range.malformed"
    assert backwards.json()["title"] == "Malformed Range header"
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(PDF)}"
    assert past.json()["code"] == "range.not_satisfiable"
    assert past.json()["detail"] == (
        f"Le fichier compte {len(PDF)}\u00a0octets\u202f: la plage demandée commence après sa fin."
    )


def _reply_url(receipt: dict[str, Any]) -> str:
    return f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"


async def test_a_repeated_idempotency_key_is_documented_and_refused_with_another_body(
    app: Running,
) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    operation = spec["paths"]["/inbox/v1/conversations/{conversation_id}/replies"]["post"]
    key_header = next(p for p in operation["parameters"] if p["name"] == "idempotency-key")
    receipt = await start_conversation(app)
    headers = {**await supervisor(app), "Idempotency-Key": "facture-42"}

    first = await app.client.post(_reply_url(receipt), json={"text": "Bonjour."}, headers=headers)
    again = await app.client.post(_reply_url(receipt), json={"text": "Bonjour."}, headers=headers)
    other = await app.client.post(
        _reply_url(receipt), json={"text": "Autre chose."}, headers=headers
    )
    other_fr = await app.client.post(
        _reply_url(receipt),
        json={"text": "Autre chose."},
        headers={**headers, "Accept-Language": "fr"},
    )
    conversation = await app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )

    assert "200" in operation["responses"]
    assert "201" in operation["responses"]
    assert "different body" in key_header["description"]
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert other.json()["code"] == "request.idempotency_key_reused"
    assert other.json()["detail"] == "This Idempotency-Key was used for a different reply."
    assert other_fr.json()["detail"] == "Cette Idempotency-Key a servi pour une autre réponse."
    outbound = [m for m in conversation.json()["messages"] if m["direction"] == "outbound"]
    assert [m["text"] for m in outbound] == ["Bonjour."]


async def test_the_schemas_are_no_looser_than_the_server(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    maps = [
        schemas["AgentCreate"]["properties"]["languages"],
        schemas["AgentCreate"]["properties"]["skills"],
        schemas["QueueCreate"]["properties"]["required_skills"],
        schemas["RoutingCallbackCreate"]["properties"]["skills"],
    ]
    resolve = spec["paths"]["/inbox/v1/conversations/{conversation_id}/resolve"]["post"]
    if_match = next(p for p in resolve["parameters"] if p["name"] == "if-match")
    times = [
        schemas[name]["properties"][field]
        for name in ("OpeningIntervalDoc", "ClosureDoc")
        for field in ("start", "end")
    ]

    assert [item.get("additionalProperties") for item in maps] == [False] * 4
    assert re.fullmatch(if_match["schema"]["pattern"], '"7"')
    assert re.fullmatch(if_match["schema"]["pattern"], "7")
    assert not re.fullmatch(if_match["schema"]["pattern"], "abc")
    assert [field.get("format") for field in times] == [None] * 4
    assert all(re.fullmatch(field["pattern"], "08:30") for field in times)
    assert not any(re.fullmatch(field["pattern"], "08:30Z") for field in times)
    assert schemas["TagsAdd"]["properties"]["tags"]["items"]["minLength"] == 1
    assert "pattern" in schemas["TemplateCreate"]["properties"]["key"]
    assert "pattern" in schemas["VariableSpec"]["properties"]["name"]
