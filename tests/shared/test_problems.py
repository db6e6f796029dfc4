"""Errors are RFC 9457 problem documents with a stable code, in English or French."""

from __future__ import annotations

from shared.auth import Role
from shared.errors import DatabaseBusy
from shared.i18n import SHARED_LOCALE_DIR, Translator, negotiate_locale
from shared.problems import render_problem
from tests.support.apps import Running


async def test_unknown_route_is_a_problem_document(app: Running) -> None:
    answer = await app.client.get("/inbox/v1/nothing-here", headers={"X-Request-ID": "req-42"})

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "req-42"
    assert answer.json() == {
        "type": "urn:problem:route.not_found",
        "title": "Not found",
        "status": 404,
        "detail": "There is no endpoint at this address.",
        "instance": "/inbox/v1/nothing-here",
        "code": "route.not_found",
        "request_id": "req-42",
    }


async def test_validation_errors_name_each_field_with_a_french_reason(app: Running) -> None:
    admin = await app.token(Role.ADMIN)

    answer = await app.client.post(
        "/inbox/v1/tokens",
        json={"role": "gateway", "name": "", "colour": "blue"},
        headers={"Authorization": f"Bearer {admin}", "Accept-Language": "fr"},
    )

    problem = answer.json()
    fields = {item["field"]: item for item in problem["errors"]}
    assert answer.status_code == 422
    assert problem["code"] == "request.invalid"
    assert fields["name"]["code"] == "string_too_short"
    assert fields["name"]["reason"] == "Ne doit pas être vide."
    assert fields["colour"]["reason"] == "Ce champ n’est pas autorisé."


async def test_malformed_json_is_422_not_500(app: Running) -> None:
    admin = await app.token(Role.ADMIN)

    answer = await app.client.post(
        "/inbox/v1/tokens",
        content=b"{not json",
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    )

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "json_invalid"


async def test_wrong_method_is_405_problem(app: Running) -> None:
    answer = await app.client.put("/inbox/v1/tokens")

    assert answer.status_code == 405
    assert answer.json()["code"] == "route.method_not_allowed"


async def test_a_wrong_method_is_405_naming_the_methods_allowed(app: Running) -> None:
    answer = await app.client.put("/inbox/v1/tokens")

    assert answer.status_code == 405
    assert answer.json()["code"] == "route.method_not_allowed"
    assert answer.headers["allow"] == "GET, HEAD, POST"


async def test_a_body_that_cannot_be_decoded_is_400_and_stores_nothing(app: Running) -> None:
    admin = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}", "Accept-Language": "fr"}
    before = (await app.client.get("/inbox/v1/dispositions", headers=admin)).json()

    not_utf8 = await app.client.put(
        "/inbox/v1/dispositions/promesse",
        content=b'{"label_en": "Promise", "label_fr": "Promesse \xe9"}',
        headers={**admin, "Content-Type": "application/json"},
    )
    no_boundary = await app.client.post(
        "/inbox/v1/inbound/faxes",
        content=b"--x\r\nContent-Disposition: form-data; name=fax_id\r\n\r\n1\r\n--x--\r\n",
        headers={
            "Authorization": f"Bearer {await app.token(Role.GATEWAY)}",
            "Content-Type": "multipart/form-data",
        },
    )
    after = (await app.client.get("/inbox/v1/dispositions", headers=admin)).json()

    assert not_utf8.status_code == 400
    assert not_utf8.headers["content-type"] == "application/problem+json"
    assert not_utf8.json()["code"] == "request.malformed_body"
    assert not_utf8.json()["title"] == "Corps de requête illisible"
    assert not_utf8.json()["detail"].startswith("Le corps de la requête est illisible\u202f:")
    assert no_boundary.status_code == 400
    assert no_boundary.json()["code"] == "request.malformed_body"
    assert after == before


def test_language_negotiation_follows_quality_values() -> None:
    assert negotiate_locale("fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert negotiate_locale("en-US,fr;q=0.5") == "en"
    assert negotiate_locale("de-DE,fr;q=0.3,en;q=0.2") == "fr"
    assert negotiate_locale("de-DE") == "en"
    assert negotiate_locale("de-DE", default="fr") == "fr"
    assert negotiate_locale("fr;q=0,en") == "en"
    assert negotiate_locale("fr;q=bogus,en") == "en"
    assert negotiate_locale(None) == "en"


def test_a_delay_is_written_singular_or_plural_as_each_language_has_it() -> None:
    translator = Translator([SHARED_LOCALE_DIR])

    def detail(seconds: int, locale: str) -> object:
        problem = render_problem(
            DatabaseBusy(retry_after=seconds),
            locale=locale,
            translator=translator,
            instance="/",
            request_id=None,
        )
        return problem["detail"]

    assert str(detail(1, "en")).endswith("; retry in 1 second.")
    assert str(detail(30, "en")).endswith("; retry in 30 seconds.")
    assert str(detail(1, "fr")).endswith("\u202f; réessayez dans 1\u00a0seconde.")
    assert str(detail(30, "fr")).endswith("\u202f; réessayez dans 30\u00a0secondes.")
    assert DatabaseBusy(retry_after=1).headers == {"Retry-After": "1"}
