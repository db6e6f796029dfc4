"""The error model: typed errors with a stable code, rendered as RFC 9457 problem+json.

Hierarchy (each carries its HTTP status):

    AppError
    ├── InvalidInput (422)      ├── Unauthorized (401)   ├── Forbidden (403)
    ├── NotFound (404)          ├── Conflict (409)       ├── PayloadTooLarge (413)
    ├── NotConfigured (501)     └── Unavailable (503, with Retry-After)

Titles and detail templates are English; the French texts live in the gettext catalogs
(`shared/locales` and each service's `locales`) and are chosen by ``Accept-Language``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from shared.i18n import Seconds


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is, a stable code and a readable reason."""

    field: str
    code: str
    reason: str
    params: tuple[tuple[str, object], ...] = ()


class AppError(Exception):
    """Base of every error the API answers with; subclasses set ``code`` and ``title``."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"
    detail_template: ClassVar[str] = "The server could not complete the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        self.detail = detail
        self.errors = errors or []
        self.extensions: dict[str, object] = {}
        self.headers = headers or {}
        self.params = params
        super().__init__(detail or self.detail_template.format_map(_Lenient(params)))


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class InvalidInput(AppError):
    status = 422
    code = "request.invalid"
    title = "Invalid request"
    detail_template = "Some fields are missing or invalid."


class Unauthorized(AppError):
    status = 401
    code = "auth.unauthenticated"
    title = "Authentication required"
    detail_template = "Send a valid API token as 'Authorization: Bearer <token>'."

    def __init__(self, detail: str | None = None, **params: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **params)


class Forbidden(AppError):
    status = 403
    code = "auth.forbidden"
    title = "Not allowed"
    detail_template = "Your role ({role}) may not do this."


class InvalidCursor(InvalidInput):
    code = "request.invalid_cursor"
    title = "Invalid cursor"
    detail_template = "The cursor is not one this API returned."


class NotFound(AppError):
    status = 404
    code = "resource.not_found"
    title = "Not found"
    detail_template = "No such resource."


class Conflict(AppError):
    status = 409
    code = "resource.conflict"
    title = "Conflict"
    detail_template = "The resource changed or already exists."


class PayloadTooLarge(AppError):
    status = 413
    code = "request.too_large"
    title = "Request too large"
    detail_template = "The request body exceeds the limit of {limit} bytes."


class NotConfigured(AppError):
    status = 501
    code = "service.not_configured"
    title = "Not configured"
    detail_template = "This feature is not configured on this server."


class Unavailable(AppError):
    status = 503
    code = "service.unavailable"
    title = "Temporarily unavailable"
    detail_template = "A service this request needs is unavailable; retry in {retry_in}."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **params: Any) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
            retry_in=Seconds(retry_after),
            **params,
        )
        self.retry_after = retry_after


class RouteNotFound(NotFound):
    code = "route.not_found"
    title = "Not found"
    detail_template = "There is no endpoint at this address."


class MalformedBody(AppError):
    status = 400
    code = "request.malformed_body"
    title = "Malformed request body"
    detail_template = (
        "The request body cannot be read: it does not match its Content-Type (JSON that is not "
        "UTF-8, a multipart body without its boundary…)."
    )


class MethodNotAllowed(AppError):
    status = 405
    code = "route.method_not_allowed"
    title = "Method not allowed"
    detail_template = "This endpoint does not accept this HTTP method."


class DatabaseUnavailable(Unavailable):
    code = "database.unavailable"
    title = "Database unavailable"
    detail_template = "The database cannot be reached; retry in {retry_in}."


class DatabaseBusy(Unavailable):
    code = "database.busy"
    title = "Database busy"
    detail_template = (
        "Concurrent changes kept the database from completing the request; retry in {retry_in}."
    )


class PeerUnavailable(Unavailable):
    code = "peer.unavailable"
    title = "Service unavailable"
    detail_template = "The {service} service cannot be reached; retry in {retry_in}."


class InvalidSignature(Unauthorized):
    code = "auth.bad_signature"
    title = "Invalid signature"
    detail_template = (
        "The X-Signature header is not of the form t=<unix seconds>,v1=<hex HMAC-SHA256>."
    )


class StaleSignature(InvalidSignature):
    detail_template = (
        "The X-Signature timestamp is {skew} away from this server's clock, more than the "
        "{tolerance} allowed: check the gateway's clock."
    )


class WrongSignature(InvalidSignature):
    detail_template = "The X-Signature matches this body with no gateway's secret."


def error_classes() -> list[type[AppError]]:
    """Every AppError subclass imported so far (for catalog completeness checks)."""
    seen: list[type[AppError]] = []
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return seen
