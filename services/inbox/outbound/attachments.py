"""Pure checks of the files an agent attaches to a reply: safe names, real base64, size limits."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from services.inbox.errors import AttachmentInvalid, AttachmentTooLarge, MessageTooLarge
from services.inbox.outbound.compose import OutgoingFile
from shared.errors import FieldError

#: At most this many files on one reply.
MAX_REPLY_ATTACHMENTS = 10
#: Extensions of programs and scripts: mail servers refuse them and they are how malware travels.
BLOCKED_EXTENSIONS = frozenset(
    {"bat", "cmd", "com", "cpl", "dll", "exe", "hta", "jar", "js", "jse", "lnk", "msc", "msi",
     "msp", "pif", "ps1", "reg", "scr", "vb", "vbe", "vbs", "wsf", "wsh"}
)  # fmt: skip
_RESERVED = re.compile(r'[/\\<>:"|?*]')
_WHITESPACE = re.compile(rb"\s+")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")

REASON_EMPTY_NAME = "The file name must not be empty."
REASON_UNSAFE_NAME = (
    'The file name must not contain a path, control characters or reserved characters (\\/<>:"|?*).'
)
REASON_BLOCKED = "Programs and scripts (.{extension}) are not sent by email."
REASON_BASE64 = "Not valid base64."
REASON_TOO_LARGE = "Larger than the limit of {limit} bytes."


@dataclass(frozen=True)
class FileUpload:
    """A file as the request gives it."""

    filename: str
    content_type: str | None
    content_base64: str


def decode_files(
    uploads: Sequence[FileUpload], *, max_file_bytes: int, max_total_bytes: int
) -> list[OutgoingFile]:
    """The files decoded and checked; raises AttachmentInvalid, AttachmentTooLarge or
    MessageTooLarge naming each bad field (``attachments.<n>.<field>``)."""
    files: list[OutgoingFile] = []
    problems: list[FieldError] = []
    for position, upload in enumerate(uploads):
        at = f"attachments.{position}"
        filename, problem = _checked_name(upload.filename, at)
        if problem is not None:
            problems.append(problem)
        # Four base64 characters carry three bytes: refuse a huge file before decoding it.
        if len(upload.content_base64) * 3 // 4 > max_file_bytes + 3:
            raise _too_large(upload.filename, max_file_bytes, at)
        data = _decoded(upload.content_base64)
        if data is None:
            problems.append(FieldError(f"{at}.content_base64", "base64_invalid", REASON_BASE64))
            continue
        if len(data) > max_file_bytes:
            raise _too_large(upload.filename, max_file_bytes, at)
        content_type = upload.content_type or mimetypes.guess_type(filename, strict=False)[0]
        files.append(OutgoingFile(filename, (content_type or "application/octet-stream"), data))
    if problems:
        raise AttachmentInvalid(errors=problems)
    if sum(len(file.data) for file in files) > max_total_bytes:
        raise MessageTooLarge(limit=max_total_bytes)
    return files


def _checked_name(raw: str, at: str) -> tuple[str, FieldError | None]:
    """The name in NFC, and the problem with it if any."""
    name = unicodedata.normalize("NFC", raw).strip()
    field = f"{at}.filename"
    if not name.strip("."):
        return name, FieldError(field, "filename_empty", REASON_EMPTY_NAME)
    # Cc: control characters; Cf: format characters such as U+202E, which can make
    # "facture\u202efdp.exe" display as "facture exe.pdf".
    if _RESERVED.search(name) or any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return name, FieldError(field, "filename_unsafe", REASON_UNSAFE_NAME)
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension in BLOCKED_EXTENSIONS:
        return name, FieldError(
            field, "filename_blocked", REASON_BLOCKED, (("extension", extension),)
        )
    return name, None


def _decoded(text: str) -> bytes | None:
    """The bytes of standard base64 (line breaks allowed, padding required), or None."""
    try:
        compact = _WHITESPACE.sub(b"", text.encode("ascii"))
    except UnicodeEncodeError:
        return None
    if len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error:
        return None


def _too_large(filename: str, limit: int, at: str) -> AttachmentTooLarge:
    return AttachmentTooLarge(
        filename=filename,
        limit=limit,
        errors=[
            FieldError(f"{at}.content_base64", "too_large", REASON_TOO_LARGE, (("limit", limit),))
        ],
    )
