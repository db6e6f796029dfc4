"""Base schema configuration and the models every service's API shares."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.problems import PROBLEM_MEDIA_TYPE

Language = Literal["en", "fr", "und"]
T = TypeVar("T")


class Schema(BaseModel):
    """Base of API models: built from ORM objects, unknown fields refused."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")


class ProblemFieldError(BaseModel):
    field: str = Field(examples=["subject"])
    code: str = Field(examples=["missing"])
    reason: str = Field(examples=["This field is required."])


class Problem(BaseModel):
    """An RFC 9457 problem document, in the language chosen by ``Accept-Language``."""

    type: str = Field(examples=["urn:problem:auth.unauthenticated"])
    title: str = Field(examples=["Authentication required"])
    status: int = Field(examples=[401])
    detail: str = Field(examples=["Send a valid API token as 'Authorization: Bearer <token>'."])
    instance: str = Field(examples=["/inbox/v1/conversations"])
    code: str = Field(
        description="Stable machine-readable code.", examples=["auth.unauthenticated"]
    )
    request_id: str | None = None
    errors: list[ProblemFieldError] | None = None


class Page(BaseModel, Generic[T]):
    """One page of a cursor-paginated list."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` entries declaring problem+json errors for the given statuses.

    Declare 422 on every operation that takes parameters or a body: the server answers invalid
    input as a problem, and an operation that declares no 422 gets FastAPI's own (a JSON
    `HTTPValidationError` body the server never sends). The service app's document then moves
    each error's schema under `application/problem+json` (``shared.web``).
    """
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": _STATUS_TEXT.get(status, "Error"),
        }
        for status in statuses
    }


_STATUS_TEXT = {
    400: "Bad request",
    401: "No or invalid credentials",
    403: "The credentials' role may not do this",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request too large",
    422: "Invalid input; `errors` lists each field and reason",
    501: "Not configured",
    503: "A dependency is down; retry after `Retry-After` seconds",
}
