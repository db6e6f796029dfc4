"""The inbox's own error codes."""

from __future__ import annotations

from shared.errors import InvalidInput, NotFound, PayloadTooLarge


class TokenNotFound(NotFound):
    code = "token.not_found"
    title = "Token not found"
    detail_template = "There is no API token {token_id}."


class ContactNotFound(NotFound):
    code = "contact.not_found"
    title = "Contact not found"
    detail_template = "There is no contact {contact_id}."


class ConversationNotFound(NotFound):
    code = "conversation.not_found"
    title = "Conversation not found"
    detail_template = "There is no conversation {conversation_id}."


class MessageTooLarge(PayloadTooLarge):
    code = "message.too_large"
    title = "Message too large"
    detail_template = "The message exceeds the limit of {limit} bytes; nothing was stored."


class UnsupportedMediaType(InvalidInput):
    status = 415
    code = "request.unsupported_media_type"
    title = "Unsupported media type"
    detail_template = (
        "Send the message as message/rfc822, as JSON with a base64 'raw' field, "
        "or as multipart/form-data with an 'email' field."
    )


class InvalidCursor(InvalidInput):
    code = "request.invalid_cursor"
    title = "Invalid cursor"
    detail_template = "The cursor is not one this API returned."
