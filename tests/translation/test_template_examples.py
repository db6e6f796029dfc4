"""The template examples in the OpenAPI document work when sent exactly as documented."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.support.apps import Running

BASE = "/translation/v1/templates"


async def spec_of(app: Running) -> Any:
    answer = await app.client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def body_schema(spec: Any, path: str, method: str) -> Any:
    ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def path_with_example(spec: Any, path: str, method: str) -> str:
    """The path with each parameter replaced by its first documented example."""
    for parameter in spec["paths"][path][method].get("parameters", []):
        if parameter["in"] == "path":
            example = parameter["schema"]["examples"][0]
            path = path.replace(f"{{{parameter['name']}}}", example)
    return path


async def admin(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.ADMIN)}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", BASE), ("patch", f"{BASE}/{{key}}"), ("post", f"{BASE}/{{key}}/render")],
)
async def test_each_documented_request_example_is_accepted_as_is(
    app: Running, method: str, path: str
) -> None:
    spec = await spec_of(app)
    examples = body_schema(spec, path, method)["examples"]
    url = path_with_example(spec, path, method)
    headers = await admin(app)

    answers = [
        await app.client.request(method.upper(), url, json=example, headers=headers)
        for example in examples
    ]

    assert examples
    assert [(a.status_code, a.json().get("code")) for a in answers] == [
        (201 if method == "post" and path == BASE else 200, None) for _ in answers
    ]


async def test_a_template_built_from_the_field_examples_declares_its_placeholders(
    app: Running,
) -> None:
    spec = await spec_of(app)
    schemas = spec["components"]["schemas"]
    fields = {
        name: prop["examples"][0]
        for name, prop in schemas["VersionWrite"]["properties"].items()
        if "examples" in prop
    }
    key = schemas["TemplateCreate"]["properties"]["key"]["examples"][0]
    versions = [{**fields, "locale": locale} for locale in ("en", "fr")]

    answer = await app.client.post(
        BASE, json={"key": key, "versions": versions}, headers=await admin(app)
    )

    assert answer.status_code == 201, answer.json()
    assert answer.json()["key"] == key
