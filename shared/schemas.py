"""Base schema configuration and the models every service's API shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.problems import PROBLEM_MEDIA_TYPE

Language = Literal["en", "fr", "und"]
T = TypeVar("T")


def in_utc_range(value: datetime) -> datetime:
    """Refuse an instant the database cannot store: one whose UTC time falls outside the years
    1 to 9999 (``9999-12-31T23:59:59-23:59`` is valid RFC 3339, yet a year 10000 in UTC).
    One without an offset (only ``InstantOrUtc`` lets it through) is UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_range", "Must fall between the years 1 and 9999 in UTC."
        ) from None
    return value


#: A date and time with its offset, as the API takes them: one the database can store.
Instant = Annotated[AwareDatetime, AfterValidator(in_utc_range)]
#: The same where an input without an offset is read as UTC.
InstantOrUtc = Annotated[datetime, AfterValidator(in_utc_range)]


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
