"""The inbox's own error codes."""

from __future__ import annotations

from shared.errors import AppError, Conflict, InvalidInput, NotFound, PayloadTooLarge, Unavailable


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


class QuarantinedEmailNotFound(NotFound):
    code = "quarantine.not_found"
    title = "Quarantined email not found"
    detail_template = "There is no quarantined email {message_id}."


class QuarantineHandled(Conflict):
    code = "quarantine.already_handled"
    title = "Already handled"
    detail_template = (
        "The email {message_id} has already left the quarantine (released or dismissed); "
        "nothing was changed."
    )


class StillUnparseable(InvalidInput):
    code = "quarantine.still_unparseable"
    title = "Still unreadable"
    detail_template = (
        "The email still cannot be read ({reason}); nothing was changed. Send a repaired copy "
        "as message/rfc822."
    )


class AttachmentNotFound(NotFound):
    code = "attachment.not_found"
    title = "Attachment not found"
    detail_template = "Conversation {conversation_id} has no attachment {attachment_id}."


class AttachmentNotKept(AppError):
    status = 410
    code = "attachment.not_kept"
    title = "Attachment not kept"
    detail_template = (
        "The file was over the size limit when it arrived ({size} bytes): only its name, type "
        "and size were kept."
    )


class FilesUnavailable(Unavailable):
    code = "files.unavailable"
    title = "Files unavailable"
    detail_template = "The stored files cannot be read now; retry in {retry_in}."


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


class RepairedCopyMediaType(UnsupportedMediaType):
    detail_template = "Send the repaired email as message/rfc822, or no body to use the stored one."


class FaxMediaType(UnsupportedMediaType):
    detail_template = (
        "Send the fax as multipart/form-data with the document as a file part named "
        "'document', or as JSON with the document base64-encoded in a 'document' field."
    )


class FaxDocumentType(InvalidInput):
    status = 415
    code = "fax.document_type"
    title = "Not a PDF or TIFF document"
    detail_template = (
        "A fax's document must be a PDF or a TIFF file, as its first bytes show, whatever type "
        "it is declared as; this one is neither. Nothing was stored."
    )


class EmptyEmail(InvalidInput):
    code = "email.empty"
    title = "Empty email"
    detail_template = (
        "There is no email to store: the message is empty (no bytes, or only spaces and line "
        "breaks). Nothing was stored."
    )


class CallEventMediaType(UnsupportedMediaType):
    detail_template = "Send the call event as JSON, with the media type application/json."


class ConversationClosed(Conflict):
    code = "conversation.closed"
    title = "Conversation closed"
    detail_template = (
        "Conversation {conversation_id} is closed for good: it cannot be reopened or changed. "
        "The customer's next email opens a new conversation, linked to this one."
    )


class NotAnEmailConversation(Conflict):
    code = "reply.not_email"
    title = "Not an email conversation"
    detail_template = "Replies by email need an email conversation, not a {channel} conversation."


class LanguageConfirmationRequired(Conflict):
    code = "reply.language_confirmation_required"
    title = "Language confirmation required"
    detail_template = (
        "The reply is in {language}, but the customer writes in {conversation_language}; "
        "send it again with confirm_language: true if this is intended."
    )


class NoEmailRecipient(Conflict):
    code = "reply.no_recipient"
    title = "No email address"
    detail_template = "This customer has no email address to reply to; nothing was sent."


class ConversationChanged(Conflict):
    code = "conversation.changed"
    title = "Conversation changed"
    detail_template = (
        "The conversation changed since you read it (version {expected}, now "
        "{current_version}); reload it and try again."
    )


class UnknownDisposition(InvalidInput):
    code = "disposition.unknown"
    title = "Unknown wrap-up code"
    detail_template = "{code} is not an active wrap-up code."


class NoPhoneNumber(Conflict):
    code = "callback.no_phone"
    title = "No phone number"
    detail_template = "Conversation {conversation_id} has no phone number to call back."


class ReplyContentChoice(InvalidInput):
    code = "reply.text_or_template"
    title = "Text or template"
    detail_template = "A reply has either text or a template_key, exactly one of the two."


class ReplyHtmlWithTemplate(ReplyContentChoice):
    title = "HTML with a template"
    detail_template = "HTML goes only with text, not with a template."


class TransferAgentNotFound(InvalidInput):
    code = "transfer.agent_not_found"
    title = "Agent not found"
    detail_template = "There is no agent {agent_id} to transfer to; nothing was changed."


class TransferQueueNotFound(InvalidInput):
    code = "transfer.queue_not_found"
    title = "Queue not found"
    detail_template = (
        "There is no queue {queue_id} to send this conversation to; nothing was changed."
    )


class TransferQueueNotSuitable(InvalidInput):
    code = "transfer.queue_not_suitable"
    title = "Queue cannot take this conversation"
    detail_template = (
        "Queue {queue_name} does not take this conversation's channel or language; "
        "nothing was changed."
    )


class TransferAgentNotSuitable(InvalidInput):
    code = "transfer.agent_not_suitable"
    title = "Agent cannot take this conversation"
    detail_template = (
        "{agent} cannot take this conversation in queue {queue_name}; nothing was changed."
    )


class EscalationNoTierQueue(Conflict):
    code = "escalation.no_tier_queue"
    title = "No queue for this tier"
    detail_template = (
        "No queue takes tier {tier} for this conversation's channel and language: name a "
        "queue (to_queue_id) or have one set up. Nothing was changed."
    )


class ReplyTemplateNotFound(InvalidInput):
    code = "reply.template_not_found"
    title = "Unknown template"
    detail_template = "There is no template '{key}'."


class ReplyTemplateLanguage(InvalidInput):
    code = "reply.template_language"
    title = "Template not available in this language"
    detail_template = "Template '{key}' has no version in {language}."


class ReplyTemplateVariables(InvalidInput):
    code = "reply.template_variables"
    title = "Template variables to correct"
    detail_template = (
        "Template '{key}' cannot be filled in with these variables; see errors for each one."
    )


class AttachmentInvalid(InvalidInput):
    code = "reply.attachment_invalid"
    title = "Invalid attachment"
    detail_template = "An attachment cannot be sent as given; see errors. Nothing was sent."


class AttachmentTooLarge(PayloadTooLarge):
    code = "reply.attachment_too_large"
    title = "Attachment too large"
    detail_template = (
        "Attachment '{filename}' is larger than the limit of {limit} bytes; nothing was sent."
    )


class IdempotencyKeyReused(InvalidInput):
    code = "request.idempotency_key_reused"
    title = "Idempotency-Key reused"
    detail_template = "This Idempotency-Key was used for a different reply."


class RangeMalformed(AppError):
    status = 400
    code = "range.malformed"
    title = "Malformed Range header"
    detail_template = (
        "The Range header cannot be read: send bytes=START-END, bytes=START- or bytes=-LENGTH, "
        "with START not after END."
    )


class RangeNotSatisfiable(AppError):
    status = 416
    code = "range.not_satisfiable"
    title = "Range not satisfiable"
    detail_template = "The file has {size} bytes: the range asked for starts past its end."


class IdentityTaken(Conflict):
    code = "contact.identity_taken"
    title = "Identity held by another contact"
    detail_template = (
        "{value} belongs to contact {other_contact_id}; nothing was changed. To join them, "
        "merge that contact into this one."
    )


class ContactMerged(Conflict):
    code = "contact.merged"
    title = "Contact merged"
    detail_template = (
        "Contact {contact_id} has been merged into contact {merged_into_id}; nothing was changed."
    )
