"""Replies and their delivery: queued in the same transaction, sent once by the relay."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox.blank import REASON_BLANK, is_blank
from services.inbox.blobs import BlobStore
from services.inbox.conversations import service as conversations
from services.inbox.errors import (
    ConversationClosed,
    IdempotencyKeyReused,
    LanguageConfirmationRequired,
    NoEmailRecipient,
    NotAnEmailConversation,
    ReplyContentChoice,
    ReplyHtmlWithTemplate,
)
from services.inbox.ingest.schemas import is_mailbox_address
from services.inbox.internal_events import EmailQueued
from services.inbox.models import (
    Attachment,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    OutboxEvent,
)
from services.inbox.outbound.attachments import FileUpload, decode_files
from services.inbox.outbound.compose import (
    OutgoingEmail,
    OutgoingFile,
    compose,
    from_address,
    new_message_id,
    reply_subject,
)
from services.inbox.outbound.smtp import MailTransport, PermanentFailure, TemporaryFailure
from services.inbox.outbound.templates import render_reply_template, standard_variables
from services.inbox.workspace import service as workspace
from shared.clients.base import PeerRejected
from shared.clients.translation import TranslationClient
from shared.contracts.inbox_events import EmailFailed
from shared.contracts.translation import DetectRequest
from shared.db import session_scope, utc_now
from shared.errors import FieldError, InvalidInput, PeerUnavailable
from shared.i18n import Term
from shared.logging import get_logger
from shared.outbox import emit
from shared.terms import language_name

log = get_logger(__name__)


@dataclass(frozen=True)
class Sender:
    """Who our mail comes from and the domain of our Message-IDs."""

    address: str
    name: str | None
    domain: str


@dataclass(frozen=True)
class ReplyDraft:
    """What an agent wrote: free text, or a template with variables; and files to attach."""

    text: str | None
    html: str | None
    language: str | None
    confirm_language: bool
    idempotency_key: str | None
    author_agent_id: uuid.UUID | None
    template_key: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    author_name: str | None = None
    attachments: Sequence[FileUpload] = ()
    #: The language free text is written in, when detection is sure of it (``written_in``);
    #: not part of the request's fingerprint.
    written_in: str | None = None


@dataclass(frozen=True)
class PreparedTemplate:
    """A template rendered for a reply, before anything is written."""

    language: str
    subject: str
    text: str


@dataclass(frozen=True)
class FileLimits:
    """How large one attached file, and the files of one reply together, may be."""

    file_bytes: int
    total_bytes: int


REASON_TEXT_OR_TEMPLATE = "Give exactly one of text and template_key."
REASON_HTML_WITH_TEMPLATE = "Only with text, not with template_key."


def check_draft(draft: ReplyDraft, limits: FileLimits) -> list[OutgoingFile]:
    """The attached files decoded, once the draft is text XOR template; raises
    ReplyContentChoice (ReplyHtmlWithTemplate for HTML beside a template), InvalidInput for blank
    text, AttachmentInvalid, AttachmentTooLarge or MessageTooLarge."""
    _check_content(draft)
    return decode_files(
        draft.attachments, max_file_bytes=limits.file_bytes, max_total_bytes=limits.total_bytes
    )


async def prepare_reply(
    sessions: async_sessionmaker[AsyncSession],
    *,
    conversation_id: uuid.UUID,
    draft: ReplyDraft,
    translation: TranslationClient,
) -> PreparedTemplate | None:
    """For a template reply, the template rendered for this conversation; None for free text
    or a repeated request. Reads in a short session of its own and asks the translation
    service only once it is closed: no transaction (nor SQLite's write lock) is held while the
    peer answers (STYLE rule 7). Raises the reply's refusals and PeerUnavailable."""
    if draft.template_key is None:
        return None
    async with sessions() as lookup:
        conversation = await conversations.get_conversation(lookup, conversation_id)
        key = _reply_key(conversation.id, draft.idempotency_key)
        if await lookup.scalar(select(Message.id).where(Message.dedupe_key == key)):
            return None
        language = _reply_language(conversation, draft)
        variables = await standard_variables(lookup, conversation, author_name=draft.author_name)
    rendered = await render_reply_template(
        translation,
        key=draft.template_key,
        language=language,
        variables=variables | dict(draft.variables),
        explicit=set(draft.variables),
    )
    return PreparedTemplate(language=language, subject=rendered.subject, text=rendered.body)


async def queue_reply(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    draft: ReplyDraft,
    prepared: PreparedTemplate | None,
    files: Sequence[OutgoingFile],
    sender: Sender,
    blobs: BlobStore,
    now: datetime,
    expected_version: int | None = None,
) -> tuple[Message, bool]:
    """Store the reply with its final bytes and attachments and queue it; returns (message,
    created). A template reply needs its ``prepared`` rendering (see prepare_reply). A
    repeated ``Idempotency-Key`` returns the reply it created; raises IdempotencyKeyReused
    when that reply was asked for with another body. With an ``expected_version`` (If-Match),
    raises ConversationChanged when the conversation is at another version."""
    if expected_version is not None:
        # Locked, so that the version checked is still the conversation's when the reply is
        # stored: a concurrent action waits, and then finds it changed.
        await workspace.lock_conversation(session, conversation_id)
    conversation = await conversations.get_conversation(session, conversation_id)
    key = _reply_key(conversation.id, draft.idempotency_key)
    fingerprint = draft_fingerprint(draft)
    earlier = await _replayed(session, key, fingerprint)
    if earlier is not None:
        # A retry answers the reply it repeats, though that reply moved the version on.
        return earlier, False
    if expected_version is not None:
        workspace.ensure_actionable(conversation, expected_version=expected_version)
    language = _reply_language(conversation, draft)
    subject = reply_subject(conversation.subject, language if language != "und" else "en")
    text, html = draft.text or "", draft.html
    if draft.template_key is not None:
        if prepared is None:
            raise ValueError("a template reply needs its rendering")
        language, text, html = prepared.language, prepared.text, None
        if not (conversation.subject or "").strip():
            subject = prepared.subject
    message = await queue_email(
        session,
        conversation,
        OutgoingContent(subject=subject, text=text, html=html, language=language),
        dedupe_key=key,
        author_agent_id=draft.author_agent_id,
        sender=sender,
        blobs=blobs,
        now=now,
        files=files,
        details={_FINGERPRINT: fingerprint} if draft.idempotency_key else {},
    )
    if message is None:
        # The same request, sent again at the same moment (a double-click), stored it first.
        earlier = await _replayed(session, key, fingerprint)
        if earlier is None:
            raise RuntimeError("a claimed dedupe key without its reply")
        return earlier, False
    return message, True


async def _replayed(session: AsyncSession, key: str, fingerprint: str) -> Message | None:
    """The reply this idempotency key already created, None when there is none; raises
    IdempotencyKeyReused when it was asked for with another body."""
    earlier = await session.scalar(select(Message).where(Message.dedupe_key == key))
    # Replies stored before fingerprints were kept have none: they replay as before.
    if earlier is not None and earlier.details.get(_FINGERPRINT, fingerprint) != fingerprint:
        raise IdempotencyKeyReused()
    return earlier


#: Where a reply keeps the fingerprint of the request that created it (``Message.details``).
_FINGERPRINT = "request_sha256"


def draft_fingerprint(draft: ReplyDraft) -> str:
    """A digest of what the agent asked to send (text, HTML, language, template and its
    variables, files): two requests with the same fingerprint ask for the same reply."""
    asked = {
        "text": draft.text,
        "html": draft.html,
        "language": draft.language,
        "template_key": draft.template_key,
        "variables": dict(draft.variables),
        "attachments": [
            [
                file.filename,
                file.content_type,
                hashlib.sha256(file.content_base64.encode()).hexdigest(),
            ]
            for file in draft.attachments
        ],
    }
    canonical = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


#: How sure detection must be before an agent's free text counts as written in a language.
WRITTEN_IN_CONFIDENCE = 0.9


async def written_in(translation: TranslationClient, text: str) -> str | None:
    """The language an agent's free text is written in, when detection is sure of it (a short
    text seldom is); None otherwise, and while translation cannot answer: the reply then goes
    in the conversation's language, as it did before anyone asked."""
    try:
        detected = await translation.detect(DetectRequest(text=text))
    except (PeerUnavailable, PeerRejected) as error:
        log.warning("reply.language_unknown", error=error.code)
        return None
    if detected.language in ("en", "fr") and detected.confidence >= WRITTEN_IN_CONFIDENCE:
        return detected.language
    return None


def _reply_language(conversation: Conversation, draft: ReplyDraft) -> str:
    """The reply's language once the conversation may take it; raises ConversationClosed,
    NotAnEmailConversation or LanguageConfirmationRequired."""
    if conversation.status == "closed":
        raise ConversationClosed(conversation_id=str(conversation.id))
    if conversation.channel != "email":
        raise NotAnEmailConversation(channel=Term(conversation.channel))
    language = draft.language or draft.written_in or conversation.language
    if (
        conversation.language in ("en", "fr")
        and language != conversation.language
        and not draft.confirm_language
    ):
        raise LanguageConfirmationRequired(
            language=language_name(language),
            conversation_language=language_name(conversation.language),
        )
    return language


def _check_content(draft: ReplyDraft) -> None:
    """Text XOR template, HTML only beside text, and text that says something."""
    has_text, has_template = draft.text is not None, draft.template_key is not None
    if has_text == has_template:
        raise ReplyContentChoice(
            errors=[
                FieldError(name, "text_or_template", REASON_TEXT_OR_TEMPLATE)
                for name in ("text", "template_key")
            ]
        )
    if has_template and draft.html is not None:
        raise ReplyHtmlWithTemplate(
            errors=[FieldError("html", "html_with_template", REASON_HTML_WITH_TEMPLATE)]
        )
    if draft.text is not None and is_blank(draft.text):
        raise InvalidInput(errors=[FieldError("text", "blank", REASON_BLANK)])


@dataclass(frozen=True)
class OutgoingContent:
    """What an outgoing email says."""

    subject: str
    text: str
    html: str | None
    language: str


async def queue_email(
    session: AsyncSession,
    conversation: Conversation,
    content: OutgoingContent,
    *,
    dedupe_key: str,
    author_agent_id: uuid.UUID | None,
    sender: Sender,
    blobs: BlobStore,
    now: datetime,
    kind: str = "email",
    files: Sequence[OutgoingFile] = (),
    details: Mapping[str, Any] | None = None,
) -> Message | None:
    """Compose the email in the conversation's thread, store its bytes (and each attached
    file's, content-addressed) and queue it with its attachments recorded; None, with nothing
    written, when another transaction holds ``dedupe_key`` (on PostgreSQL the claim waits for
    that transaction, so the message it stored can then be read)."""
    recipient = await customer_address(session, conversation)
    last = thread_parent(conversation, recipient)
    message_id = new_message_id(sender.domain)
    references = (
        [*last.references, last.message_id_header] if last and last.message_id_header else []
    )
    references = [ref for ref in references if ref]
    sender_address = from_address(conversation.inbox_address, sender.address)
    raw = compose(
        OutgoingEmail(
            sender=sender_address,
            sender_name=sender.name,
            recipient=recipient,
            recipient_name=conversation.contact.display_name,
            subject=content.subject,
            text=content.text,
            html=content.html,
            message_id=message_id,
            in_reply_to=last.message_id_header if last else None,
            references=references,
            date=now,
            language=content.language,
            automatic=kind == "automatic",
            attachments=tuple(files),
        )
    )
    digest, *file_digests = await blobs.put_many([raw, *(file.data for file in files)])
    row: dict[str, Any] = dict(
        id=uuid.uuid4(),
        conversation_id=conversation.id,
        dedupe_key=dedupe_key,
        direction="outbound",
        author_agent_id=author_agent_id,
        channel="email",
        kind=kind,
        status="queued",
        message_id_header=message_id,
        in_reply_to=last.message_id_header if last else None,
        references=references,
        subject=content.subject,
        from_address=sender_address,
        from_name=sender.name,
        to_addresses=[recipient],
        text=content.text,
        html=content.html,
        language=content.language,
        language_confidence=1.0,
        language_evidence=["author"],
        auto_reply=False,
        auto_reply_signals=[],
        raw_sha256=digest,
        raw_size=len(raw),
        details=dict(details or {}),
        received_at=now,
    )
    # One statement claims the dedupe key: a concurrent twin finds it taken, never a conflict.
    claim = _CLAIMS[session.get_bind().dialect.name].values(**row)
    message: Message | None = await session.scalar(claim)
    if message is None:
        return None
    session.add_all(
        Attachment(
            id=uuid.uuid4(),
            message_id=message.id,
            position=position,
            filename=file.filename,
            content_type=file.content_type,
            size=len(file.data),
            sha256=file_digest,
            inline=False,
            stored=True,
        )
        for position, (file, file_digest) in enumerate(zip(files, file_digests, strict=True))
    )
    conversations.mark_message(conversation, now=now)
    emit(session, OutboxEvent, EmailQueued(message_id=message.id))
    await session.flush()
    return message


_CLAIMS = {
    name: dialect.insert(Message)
    .on_conflict_do_nothing(index_elements=[Message.dedupe_key])
    .returning(Message)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _reply_key(conversation_id: uuid.UUID, idempotency_key: str | None) -> str:
    if idempotency_key:
        return f"out:{conversation_id}:{idempotency_key}"[:700]
    return f"out:{uuid.uuid4()}"


def thread_parent(conversation: Conversation, customer: str) -> Message | None:
    """The email a reply answers: the customer's last own email, never an auto-reply or a
    bounce (a mail daemon's Message-ID the customer never saw would break their thread), else
    anyone's last such email, else the last email received."""
    inbound = [m for m in conversation.messages if m.direction == "inbound" and m.from_address]
    written = [m for m in inbound if not m.auto_reply]
    own = [m for m in written if (m.from_address or "").lower() == customer.lower()]
    for candidates in (own, written, inbound):
        if candidates:
            return candidates[-1]
    return None


async def customer_address(session: AsyncSession, conversation: Conversation) -> str:
    """Where the conversation's customer reads mail: the address they last wrote from, else
    another of theirs (a web form's no-reply sender is none of theirs: its Reply-To is). Never
    someone else who wrote into their conversation (a colleague answering our email, say):
    that one would get the customer's mail. NoEmailRecipient when there is none."""
    inbound = [m for m in conversation.messages if m.direction == "inbound" and m.from_address]
    addresses = list(
        await session.scalars(
            select(ContactIdentity.value)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(Contact.id == conversation.contact_id, ContactIdentity.kind == "email")
        )
    )
    theirs = {address.lower() for address in addresses}
    for message in reversed(inbound):
        if (message.from_address or "").lower() in theirs and can_write_to(message.from_address):
            return str(message.from_address)
    recipient = next((address for address in addresses if can_write_to(address)), None)
    if recipient is None:
        raise NoEmailRecipient()
    return recipient


def can_write_to(address: str | None) -> bool:
    """Whether an email can be sent to the address: an addr-spec (non-ASCII letters allowed)
    outside the reserved ``.invalid`` top-level domain (RFC 2606), which is where the inbox
    files a sender who gave no usable address (``unknown@<gateway>.invalid``)."""
    if not address or not is_mailbox_address(address):
        return False
    domain = address.rpartition("@")[2].rstrip(".").lower()
    return domain != "invalid" and not domain.endswith(".invalid")


async def send_queued_email(
    sessions: async_sessionmaker[AsyncSession],
    *,
    message_id: uuid.UUID,
    transport: MailTransport,
    blobs: BlobStore,
    now: datetime,
    max_queue_time: timedelta,
) -> None:
    """Send a queued email once. A permanent refusal marks it failed; so does a temporary one
    once the email was queued (its ``received_at``) ``max_queue_time`` or more before ``now``.
    A temporary failure within that time raises TemporaryFailure, for the relay to retry."""
    async with sessions() as session:
        message = await session.get(Message, message_id)
        if message is None or message.status != "queued" or message.raw_sha256 is None:
            return
        raw = await blobs.get(message.raw_sha256)
        sender, recipients = message.from_address or "", list(message.to_addresses)
        queued_at = message.received_at
    try:
        answer = await transport.send(raw, sender=sender, recipients=recipients)
    except PermanentFailure as failure:
        await _fail(sessions, message_id, failure.code, failure.reason)
        log.warning("email.failed", message_id=str(message_id), code=failure.code)
        return
    except TemporaryFailure as failure:
        if now - queued_at < max_queue_time:
            raise
        hours = max_queue_time / timedelta(hours=1)
        await _fail(
            sessions, message_id, failure.code, failure.reason, expired=True, max_queue_hours=hours
        )
        log.warning(
            "email.expired", message_id=str(message_id), code=failure.code, max_queue_hours=hours
        )
        return
    await _finish(sessions, message_id, status="sent", details={"server_answer": answer})
    log.info("email.sent", message_id=str(message_id))


async def _fail(
    sessions: async_sessionmaker[AsyncSession],
    message_id: uuid.UUID,
    code: int | None,
    reason: str,
    **more: object,
) -> None:
    """Mark the email failed with the server's last answer, and tell its agent (routing shows it
    on the agent's live stream): the author of the reply, else the conversation's agent."""
    details = {"failure_code": code, "failure_reason": reason, **more}
    async with session_scope(sessions) as session:
        message = await _finished(session, message_id, status="failed", details=details)
        if message is None or message.conversation_id is None:
            return
        assignee = None
        if message.author_agent_id is None:
            conversation = await session.get(Conversation, message.conversation_id)
            assignee = conversation.assignee_agent_id if conversation else None
        notice = failure_notice(
            message,
            assignee_agent_id=assignee,
            code=code,
            reason=reason,
            expired=bool(more.get("expired", False)),
        )
        if notice is not None:
            emit(session, OutboxEvent, notice)


def failure_notice(
    message: Message,
    *,
    assignee_agent_id: uuid.UUID | None,
    code: int | None,
    reason: str,
    expired: bool,
) -> EmailFailed | None:
    """The notice that an outgoing email failed, for the agent who wrote it, else the
    conversation's agent (``assignee_agent_id``); None when there is neither. A send refused
    for good and a bounce from the customer's server are told alike."""
    agent_id = message.author_agent_id or assignee_agent_id
    if agent_id is None or message.conversation_id is None:
        return None
    return EmailFailed(
        conversation_id=message.conversation_id,
        message_id=message.id,
        agent_id=agent_id,
        recipients=[address[:320] for address in message.to_addresses[:100]],
        subject=(message.subject or "")[:2000] or None,
        failure_code=code if code is not None and 100 <= code <= 599 else None,
        failure_reason=reason[:2000],
        expired=expired,
    )


async def _finish(
    sessions: async_sessionmaker[AsyncSession],
    message_id: uuid.UUID,
    *,
    status: str,
    details: dict[str, object],
) -> None:
    async with session_scope(sessions) as session:
        await _finished(session, message_id, status=status, details=details)


async def _finished(
    session: AsyncSession, message_id: uuid.UUID, *, status: str, details: dict[str, object]
) -> Message | None:
    """The message with its final status and details set, None when it no longer exists. Its
    row is locked first: an email whose bounce came back (ingest) before it is recorded sent
    stays failed."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None:
        return None
    if not (status == "sent" and message.status == "failed"):
        message.status = status
    message.details = {**message.details, **details}
    if status == "sent":
        message.sent_at = utc_now()
    return message
