"""Storing an inbound email exactly once, threaded into the right conversation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from services.inbox.contacts import service as contacts
from services.inbox.conversations import service as conversations
from services.inbox.conversations.threading import (
    is_forward,
    normalize_subject,
    subject_references,
    thread_keys,
)
from services.inbox.ingest import bounce_text
from services.inbox.ingest.mime import MAX_SUBJECT_CHARS, ParsedEmail
from services.inbox.ingest.reports import DeliveryReport
from services.inbox.models import (
    Attachment,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    OutboxEvent,
)
from services.inbox.no_reply import is_no_reply
from services.inbox.outbound import service as outbound
from shared.contracts.inbox_events import ConversationNeedsAgent
from shared.contracts.translation import DetectHints, DetectResult
from shared.db import read_only
from shared.outbox import emitted_values


@dataclass(frozen=True)
class IngestResult:
    """What the gateway is told: where the message went and whether it was seen before."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    duplicate: bool
    status: str
    language: str


@dataclass(frozen=True)
class InboundEmail:
    """An email as received: its raw form, where it came from, and its parse (if any)."""

    dedupe_key: str
    raw_sha256: str
    raw_size: int
    gateway: str
    inbox_address: str | None
    parsed: ParsedEmail | None
    parse_error: str | None
    attachment_digests: tuple[str | None, ...] = ()
    #: The quarantined email this one was released from, when a supervisor released it.
    released_from: uuid.UUID | None = None


def kept_digests(parsed: ParsedEmail | None) -> tuple[str | None, ...]:
    """Each attachment's digest, None for one over the size limit (not kept)."""
    attachments = parsed.attachments if parsed else ()
    return tuple(None if item.omitted else item.sha256 for item in attachments)


# The email path's statements, built once (building one costs more CPU than running it). The
# message row is written with Core statements: claimed whole in one, linked in another.
MESSAGE = cast(Table, Message.__table__)


def _insert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(MESSAGE) if dialect == "postgresql" else sqlite.insert(MESSAGE)


_CLAIMS = {
    name: _insert(name)
    .on_conflict_do_nothing(index_elements=[MESSAGE.c.dedupe_key])
    .returning(MESSAGE.c.id)
    for name in ("postgresql", "sqlite")
}
CONVERSATION = cast(Table, Conversation.__table__)
_INSERT_CONVERSATION = CONVERSATION.insert()
_OUTBOX = cast(Table, OutboxEvent.__table__).insert()
_ATTACHMENTS = cast(Table, Attachment.__table__).insert()
_RECEIPT = select(
    MESSAGE.c.id,
    MESSAGE.c.conversation_id,
    MESSAGE.c.status,
    MESSAGE.c.language,
    CONVERSATION.c.contact_id,
).select_from(MESSAGE.outerjoin(CONVERSATION, CONVERSATION.c.id == MESSAGE.c.conversation_id))
_EARLIER = _RECEIPT.where(MESSAGE.c.dedupe_key == bindparam("dedupe_key"))
# A copy of one email that the conversation already holds: the same email sent to two of our
# addresses, each posted by the gateway, is kept once. Its Message-ID alone does not say so:
# some mailers give one Message-ID to different emails; its sender, subject and text must agree.
# An email without a Message-ID is told by its Date header instead (to the second, as its sender
# wrote it), and only among emails without one; an email with neither makes no copy. A web
# form's submission, keyed by its Date too (form_key), is told by both: the same words
# submitted again later are a submission of their own, a copy has the first one's Date.
_SAME_EMAIL = ("conversation_id", "from_address", "subject", "text")
_COPY_KEYS = {
    "mid": (*_SAME_EMAIL, "message_id_header"),
    "date": (*_SAME_EMAIL, "sent_at"),
    "form": (*_SAME_EMAIL, "message_id_header", "sent_at"),
}


def _held_copies(keys: tuple[str, ...]) -> Select[tuple[uuid.UUID]]:
    held = (
        select(MESSAGE.c.id)
        .where(*(MESSAGE.c[name] == bindparam(name, type_=MESSAGE.c[name].type) for name in keys))
        .where(MESSAGE.c.direction == "inbound")
    )
    if "message_id_header" not in keys:
        held = held.where(MESSAGE.c.message_id_header.is_(None))
    return held


_HELD_COPY = {kind: _held_copies(keys) for kind, keys in _COPY_KEYS.items()}
_EARLIER_COPY = {
    kind: _RECEIPT.where(
        MESSAGE.c.id == held.order_by(MESSAGE.c.received_at).limit(1).scalar_subquery()
    )
    for kind, held in _HELD_COPY.items()
}
_GUARDED_CLAIMS: dict[tuple[str, str, tuple[str, ...]], Any] = {}
# The sender's contact and, in the same statement, its latest email conversation with this
# subject (none when the subject is None).
_LATEST_BY_SUBJECT = (
    select(Conversation.id)
    .where(
        Conversation.contact_id == Contact.id,
        Conversation.channel == "email",
        Conversation.normalized_subject == bindparam("normalized_subject"),
    )
    .order_by(Conversation.last_message_at.desc())
    .limit(1)
    .correlate(Contact)
    .scalar_subquery()
)
_SENDER = (
    select(Contact, Conversation)
    .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
    .outerjoin(Conversation, Conversation.id == _LATEST_BY_SUBJECT)
    .where(ContactIdentity.kind == "email", ContactIdentity.value == bindparam("address"))
)
# When the subject quotes conversation references (``réf. C-7K3M9QXA``), the same statement also
# reads the sender's latest email conversation among those they name: the unique index on the
# reference finds them, and one of another contact is never read, so a stranger who quotes a
# reference cannot put mail into that conversation. Other emails keep _SENDER as it is.
_LATEST_BY_REFERENCE = (
    select(Conversation.id)
    .where(
        Conversation.contact_id == Contact.id,
        Conversation.channel == "email",
        Conversation.reference.in_(bindparam("references", expanding=True)),
    )
    .order_by(Conversation.last_message_at.desc())
    .limit(1)
    .correlate(Contact)
    .scalar_subquery()
)
_REFERENCED = aliased(Conversation, name="referenced")
_SENDER_AND_REFERENCED = _SENDER.add_columns(_REFERENCED).outerjoin(
    _REFERENCED, _REFERENCED.id == _LATEST_BY_REFERENCE
)
# The email of ours a bounce returns, by the Message-ID its report names, with its
# conversation: only an email we sent (a bounce of a customer's own email is none of ours).
_SENT = (
    select(Message, Conversation)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.message_id_header == bindparam("message_id"), Message.direction == "outbound")
    .limit(1)
)
# The same among the Message-IDs a bounce written as text quotes.
_SENT_AMONG = (
    select(Message, Conversation)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(
        Message.message_id_header.in_(bindparam("message_ids", expanding=True)),
        Message.direction == "outbound",
    )
)
#: The states of an email of ours that a bounce can show failed: sent, and queued (sent by the
#: relay, whose bounce came back before it recorded the email sent; its "sent" keeps it failed).
BOUNCEABLE = ("sent", "queued")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_DOMAIN = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}$"
)


def detection_hints(parsed: ParsedEmail) -> DetectHints:
    """The hints an email offers, keeping only well-formed values from its untrusted headers."""
    first_tag = (parsed.content_language or "").split(",")[0].strip()
    domain = (parsed.from_address or "").rpartition("@")[2].strip().lower()
    return DetectHints(
        content_language=first_tag if _LANGUAGE_TAG.match(first_tag) else None,
        sender_domain=domain if _DOMAIN.match(domain) else None,
    )


def dedupe_key(
    *,
    parsed: ParsedEmail | None,
    inbox_address: str | None,
    gateway: str,
    gateway_message_id: str | None,
    idempotency_key: str | None,
    raw_sha256: str,
) -> str:
    """Message-ID per inbox address and sender, else the gateway's id, else Idempotency-Key,
    else the hash. The sender too: some mailers and web forms give every email one Message-ID,
    and another customer's email is no re-post of the first. A web form's email (see
    web_form_customer) with a Date is keyed by it too (form_key)."""
    if parsed is not None and parsed.message_id:
        form = web_form_customer(parsed)
        if form is not None and parsed.date is not None:
            return form_key(inbox_address, form[0], parsed.date, parsed.message_id)
        return mid_key(inbox_address, customer_of(parsed)[0], parsed.message_id)
    if gateway_message_id:
        return f"gw:{gateway}:{gateway_message_id}"[:700]
    if idempotency_key:
        return f"idem:{gateway}:{idempotency_key}"[:700]
    return f"sha:{raw_sha256}"


def customer_of(parsed: ParsedEmail) -> tuple[str | None, str | None]:
    """Who wrote, as (address, name): a web form's customer (web_form_customer), else the
    sender."""
    return web_form_customer(parsed) or (parsed.from_address, parsed.from_name)


def web_form_customer(parsed: ParsedEmail) -> tuple[str, str | None] | None:
    """The customer a web form (or a booking system) wrote for, as (address, name): when the
    sender is a no-reply address and Reply-To names one address, that address with the name
    Reply-To gives it, never the sender's (the form's own); None for any other email."""
    if is_no_reply(parsed.from_address) and len(parsed.reply_to) == 1:
        [reply_to] = parsed.reply_to
        if "@" in reply_to and not is_no_reply(reply_to):
            return reply_to, parsed.reply_to_name
    return None


def mid_key(inbox_address: str | None, sender: str | None, message_id: str) -> str:
    """The dedupe key of an email by its Message-ID (cut to the column's length)."""
    return f"mid:{(inbox_address or '').lower()}:{(sender or '').lower()}:{message_id}"[:700]


def form_key(inbox_address: str | None, customer: str, sent_at: datetime, message_id: str) -> str:
    """The dedupe key of a web form's email: its Date as well as its Message-ID, which some
    forms give every submission (a gateway retrying one posts its Date again). The Date comes
    before the Message-ID, so that cutting the key to the column's length never drops it."""
    sent = sent_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"form:{(inbox_address or '').lower()}:{customer.lower()}:{sent}:{message_id}"[:700]


async def find_duplicate(session: AsyncSession, key: str) -> IngestResult | None:
    """The earlier result for this dedupe key, if the message was already stored."""
    return _earlier((await session.execute(_EARLIER, {"dedupe_key": key})).first())


def _earlier(row: Row[Any, Any, Any, Any, Any] | None) -> IngestResult | None:
    if row is None:
        return None
    return IngestResult(
        message_id=row.id,
        conversation_id=row.conversation_id,
        contact_id=row.contact_id,
        duplicate=True,
        # A quarantined email keeps its receipt after a supervisor released or dismissed it.
        status="quarantined" if row.status in ("released", "dismissed") else row.status,
        language=row.language,
    )


async def find_earlier(sessions: async_sessionmaker[AsyncSession], key: str) -> IngestResult | None:
    """find_duplicate on a connection of its own, before the request's transaction begins."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            # A lone read needs no transaction: one round trip instead of BEGIN, it, ROLLBACK.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            # A reader: it waits for no writer's turn and takes no write lock.
            await connection.execution_options(**read_only(engine))
        row = (await connection.execute(_EARLIER, {"dedupe_key": key})).first()
    return _earlier(row)


async def claim_message(session: AsyncSession, message: Message) -> bool:
    """Insert the message row first: a second copy of the same message stops here."""
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return False
    return True


async def claim_row(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a message row unless its dedupe key is taken: one statement, no savepoint."""
    claim = _CLAIMS[session.get_bind().dialect.name]
    return (await session.execute(claim, values)).first() is not None


async def claim_new_copy(session: AsyncSession, values: dict[str, Any]) -> bool:
    """claim_row into a known conversation, unless it already holds a copy of this email (the
    same Message-ID, or Date when it has none, sender, subject and text: another of our
    addresses got it too). Runs after the conversation's row is locked (its UPDATE): a copy
    committed meanwhile is seen, on PostgreSQL too."""
    kind = _copy_kind(values)
    if kind is None:
        return await claim_row(session, values)
    dialect = session.get_bind().dialect.name
    names = tuple(values)
    claim = _GUARDED_CLAIMS.get((dialect, kind, names))
    if claim is None:
        # The row's values, selected unless the copy is held; the guard's parameters are the
        # same values (one parameter per name).
        row = select(*(bindparam(name, type_=MESSAGE.c[name].type) for name in names))
        claim = (
            _insert(dialect)
            .from_select(names, row.where(~_HELD_COPY[kind].exists()))
            .on_conflict_do_nothing(index_elements=[MESSAGE.c.dedupe_key])
            .returning(MESSAGE.c.id)
        )
        _GUARDED_CLAIMS[(dialect, kind, names)] = claim
    return (await session.execute(claim, values)).first() is not None


def _copy_kind(values: dict[str, Any]) -> str | None:
    """How a copy of the email (the message row's ``values``) is told: by its Message-ID, else
    by its Date, a web form's submission keyed by its Date by both; None when it lacks what
    that needs, which makes no copy."""
    if values["dedupe_key"].startswith("form:"):
        kind = "form"
    else:
        kind = "mid" if values["message_id_header"] is not None else "date"
    return kind if all(values[name] is not None for name in _COPY_KEYS[kind]) else None


async def _held_copy(session: AsyncSession, values: dict[str, Any]) -> IngestResult | None:
    """The result of the copy of this email (the message row's ``values``) that its
    conversation holds, if any."""
    kind = _copy_kind(values)
    if kind is None:
        return None
    params = {name: values[name] for name in _COPY_KEYS[kind]}
    return _earlier((await session.execute(_EARLIER_COPY[kind], params)).first())


async def _duplicate(
    session: AsyncSession, key: str, copy_of: dict[str, Any] | None = None
) -> IngestResult:
    """The earlier copy's result, once the claim found the dedupe key taken, or the email
    already held in its conversation (``copy_of``: the claim's values)."""
    duplicate = await find_duplicate(session, key)
    if duplicate is None and copy_of is not None:
        duplicate = await _held_copy(session, copy_of)
    if duplicate is None:
        raise RuntimeError("dedupe key conflict without a stored message")
    return duplicate


async def ingest_email(
    session: AsyncSession,
    email: InboundEmail,
    *,
    detection: DetectResult | None,
    reopen_days: int,
    now: datetime,
) -> IngestResult:
    """Store the email once; thread it; ask routing for an agent when it needs one."""
    parsed = email.parsed
    message_id = uuid.uuid4()
    values = _message_values(email, detection, now)
    if parsed is None:
        if not await claim_row(session, {"id": message_id, **values}):
            return await _duplicate(session, email.dedupe_key)
        return IngestResult(
            message_id=message_id,
            conversation_id=None,
            contact_id=None,
            duplicate=False,
            status="quarantined",
            language="und",
        )

    language = detection.language if detection else "und"
    confidence = detection.confidence if detection else 0.0
    customer, customer_name = customer_of(parsed)
    address = clip(customer, 320) or f"unknown@{email.gateway}.invalid"
    # Reads first: the sender and the conversation the email belongs to. The message row is
    # claimed, whole, in one statement, last: a second copy of the same message stops there,
    # and the transaction with what it wrote is rolled back. A new conversation is written
    # before the message that opens it (no second statement to link them); a known one is
    # updated first, which locks it, so that a copy of this email it received meanwhile (sent
    # to another of our addresses too) is seen by the claim.
    subject = values["subject"] or None  # kept to MAX_SUBJECT_CHARS
    normalized = clip(normalize_subject(subject or ""), 500) or None
    references = subject_references(subject or "")
    await contacts.take_senders_turns(session, [address])
    params: dict[str, Any] = {"address": address, "normalized_subject": normalized}
    if references:
        params["references"] = references
    sender = (
        await session.execute(_SENDER_AND_REFERENCED if references else _SENDER, params)
    ).first()
    contact, by_subject = (sender[0], sender[1]) if sender else (None, None)
    by_reference = sender[2] if sender and references else None
    returned = await _returned_email(session, parsed)
    existing, previous = await _thread(
        session,
        parsed,
        contact_id=contact.id if contact else None,
        by_report=returned[1] if returned else None,
        by_reference=by_reference,
        by_subject=by_subject,
        reopen_days=reopen_days,
        now=now,
    )
    if existing is None and previous is not None:
        # The conversation it would follow (closed, or resolved long ago) may hold it already.
        held = await _held_copy(session, {**values, "conversation_id": previous.id})
        if held is not None:
            return held

    confident = detection is not None and confidence >= 0.9
    if (
        contact is None
        and existing is not None
        and parsed.auto_reply
        and (is_no_reply(address) or returned is not None)
    ):
        # A mail daemon's bounce or notice joining a thread is no one to keep as a contact,
        # nor is the mail system that returns our email (Exchange's MicrosoftExchange…@).
        contact_id = existing.contact_id
    elif contact is None:
        contact_id, _ = await contacts.insert_new(
            session,
            kind="email",
            value=address,
            display_name=clip(customer_name, 300),
            language=language if confident else None,
        )
    else:
        contact_id = contact.id
        contacts.note_display_name(contact, clip(customer_name, 300))
        if contact.language is None and confident:
            contact.language = language
    if existing is not None:
        # Out of the unit of work: the columns this email changes are written with one Core
        # UPDATE below, not by a flush.
        session.expunge(existing)
        # An auto-reply joins its thread and changes nothing else: it reopens nothing.
        reopened = not parsed.auto_reply and conversations.reopen(existing, now=now)
        conversation, created = existing, False
    else:
        # Never in the unit of work: inserted with one Core statement below.
        conversation = conversations.new_conversation(
            contact_id=contact_id,
            channel="email",
            subject=subject,
            normalized_subject=normalized,
            inbox_address=email.inbox_address,
            language=language,
            language_confidence=confidence,
            status="resolved" if parsed.auto_reply else "open",
            previous_conversation_id=previous.id if previous else None,
            now=now,
        )
        reopened, created = False, True
    conversations.mark_message(conversation, now=now)
    # A reopened conversation is a new request: it is in the language the customer now surely
    # writes in (routing then asks for an agent in it), as one not yet known is.
    if language != "und" and (conversation.language == "und" or (reopened and confident)):
        conversation.language, conversation.language_confidence = language, confidence
    event: ConversationNeedsAgent | None = None
    if parsed.auto_reply:
        if created:
            conversation.routing_status = "not_routed"
    elif created or reopened or conversation.routing_status in ("none", "not_routed", "assigned"):
        # Assigned: routing gives the conversation back to a queue when its agent has logged
        # out (``conversation.queued`` then says so here), and changes nothing otherwise; it
        # stays assigned to her meanwhile.
        if conversation.routing_status != "assigned" or reopened:
            conversation.routing_status = "needs_agent"
        event = needs_agent(
            conversation,
            message_id=message_id,
            contact_id=conversation.contact_id,
            channel="email",
            now=now,
            attributes={"inbox_address": email.inbox_address or ""},
        )
    if created:
        # The message is claimed last here: a second copy of it stops there, and its
        # transaction, with the contact and conversation it wrote, is rolled back.
        await session.execute(_INSERT_CONVERSATION, conversations.inserted_values(conversation))
        if not await claim_row(
            session, {"id": message_id, **values, "conversation_id": conversation.id}
        ):
            await session.rollback()
            return await _duplicate(session, email.dedupe_key)
    else:
        changed = conversations.changed_values(conversation)  # never empty: its version moves
        await session.execute(
            update(CONVERSATION).where(CONVERSATION.c.id == conversation.id).values(changed)
        )
        claimed = {"id": message_id, **values, "conversation_id": conversation.id}
        if not await claim_new_copy(session, claimed):
            await session.rollback()
            return await _duplicate(session, email.dedupe_key, copy_of=claimed)
    if parsed.attachments:
        await session.execute(
            _ATTACHMENTS,
            [
                {
                    "id": uuid.uuid4(),
                    "message_id": message_id,
                    "position": position,
                    "filename": clip(attachment.filename, 500),
                    "content_type": clip(attachment.content_type, 200)
                    or "application/octet-stream",
                    "size": attachment.size,
                    "sha256": attachment.sha256,
                    "content_id": clip(attachment.content_id, 500),
                    "inline": attachment.inline,
                    "stored": digest is not None,
                }
                for position, (attachment, digest) in enumerate(
                    zip(parsed.attachments, email.attachment_digests, strict=True)
                )
            ],
        )
    if event is not None:
        await session.execute(_OUTBOX, emitted_values(session, event))
    if returned is not None:
        await _mark_bounced(session, returned, bounce_id=message_id)
    # A known contact's new name or language, if any.
    await session.flush()
    return IngestResult(
        message_id=message_id,
        conversation_id=conversation.id,
        # The customer whose conversation it joined, as a re-post of it is answered (someone
        # else answering our email joins the customer's thread).
        contact_id=conversation.contact_id,
        duplicate=False,
        status=values["status"],
        language=language,
    )


def needs_agent(
    conversation: Conversation,
    *,
    message_id: uuid.UUID,
    contact_id: uuid.UUID,
    channel: str,
    now: datetime,
    attributes: dict[str, str],
) -> ConversationNeedsAgent:
    """The event asking routing for an agent for the conversation, in its language, for a
    message on this channel, preferring the agent who last had it."""
    return ConversationNeedsAgent(
        conversation_id=conversation.id,
        message_id=message_id,
        contact_id=contact_id,
        channel=channel,
        language=conversation.language,
        language_confidence=conversation.language_confidence,
        arrived_at=now,
        preferred_agent_id=conversation.last_agent_id,
        attributes=attributes,
    )


def clip(value: str | None, limit: int) -> str | None:
    """The value cut to the column's length (pathological headers must not fail the insert)."""
    return value[:limit] if value is not None else None


def _message_values(
    email: InboundEmail, detection: DetectResult | None, now: datetime
) -> dict[str, Any]:
    """Every column of the inbound email's message row but its id and conversation."""
    parsed = email.parsed
    values: dict[str, Any] = {
        "conversation_id": None,
        "dedupe_key": email.dedupe_key,
        "direction": "inbound",
        "author_agent_id": None,
        "channel": "email",
        "kind": "email",
        "status": "quarantined",
        "gateway": email.gateway[:100],
        "message_id_header": None,
        "in_reply_to": None,
        "references": [],
        "subject": None,
        "from_address": None,
        "from_name": None,
        "to_addresses": [],
        "text": None,
        "html": None,
        "language": "und",
        "language_confidence": 0.0,
        "language_evidence": [],
        "auto_reply": False,
        "auto_reply_signals": [],
        "raw_sha256": email.raw_sha256,
        "raw_size": email.raw_size,
        # A quarantined email keeps what a release needs to thread it as it would have been.
        "details": {"parse_error": email.parse_error, "inbox_address": email.inbox_address},
        "sent_at": None,
        "received_at": now,
    }
    if parsed is None:
        return values
    values.update(
        details={"released_from": str(email.released_from)} if email.released_from else {},
        status="auto_reply" if parsed.auto_reply else "accepted",
        message_id_header=clip(parsed.message_id, 500),
        in_reply_to=clip(parsed.in_reply_to, 500),
        references=[reference[:500] for reference in parsed.references[:100]],
        subject=clip(parsed.subject, MAX_SUBJECT_CHARS),
        from_address=clip(parsed.from_address, 320),
        from_name=clip(parsed.from_name, 300),
        to_addresses=[address[:320] for address in parsed.to[:100]],
        text=parsed.text,
        html=parsed.html,
        sent_at=parsed.date,
        auto_reply=parsed.auto_reply,
        auto_reply_signals=list(parsed.auto_reply_signals),
    )
    if detection is not None:
        values.update(
            language=detection.language,
            language_confidence=detection.confidence,
            language_evidence=list(detection.evidence),
        )
    return values


async def _returned_email(
    session: AsyncSession, parsed: ParsedEmail
) -> tuple[Message, Conversation, DeliveryReport] | None:
    """The email of ours that a bounce returns, its conversation, and what the bounce says of
    it; None for any other email. The Message-ID its report names (the returned email or its
    headers); else, for a bounce without one (bounce_text.reads_as_bounce: an auto-reply from a
    mail system or with a delivery failure's subject, never a customer's own email), the first
    of the Message-IDs its text quotes that is one of ours, with what its text says."""
    report = parsed.report
    if report is not None and report.message_id:
        if report.message_id == parsed.message_id:
            return None
        row = (await session.execute(_SENT, {"message_id": report.message_id[:500]})).first()
        return None if row is None else (row[0], row[1], report)
    if not bounce_text.reads_as_bounce(parsed.subject, parsed.auto_reply_signals):
        return None
    quoted = bounce_text.quoted_emails(parsed.text)
    candidates = [item for item in quoted.message_ids if item != parsed.message_id]
    if not candidates:
        return None
    rows = (await session.execute(_SENT_AMONG, {"message_ids": candidates})).all()
    ours = {row[0].message_id_header: (row[0], row[1]) for row in rows}
    found = next((item for item in candidates if item in ours), None)
    if found is None:
        return None
    sent, conversation = ours[found]
    if report is not None and (report.action or report.status):
        # A report whose status part says what became of it, whose text names the email.
        return sent, conversation, replace(report, message_id=found)
    return sent, conversation, quoted.report(found, parsed.subject)


async def _mark_bounced(
    session: AsyncSession,
    returned: tuple[Message, Conversation, DeliveryReport],
    *,
    bounce_id: uuid.UUID,
) -> None:
    """Show an email of ours failed when its bounce reports it given up (a delayed notice
    changes nothing), with the remote server's answer as a refused send has its own, and tell
    its agent as for a refused send. Once: an email already failed is left as it is. An email
    still queued (the relay sent it, and its bounce came back before the relay recorded it
    sent) is marked failed too: the relay's "sent" then keeps it failed."""
    sent, conversation, report = returned
    if not report.failed:
        return
    code, reason = report.failure()
    failure: dict[str, Any] = {
        "failure_code": code,
        "failure_reason": reason,
        "bounce_message_id": str(bounce_id),
        "bounce_status": report.status,
    }
    if report.expired:
        failure["expired"] = True
    # Conditional on the state read: of two bounces of one email stored at once, one marks it
    # and tells; a queued email that the relay recorded sent meanwhile (PostgreSQL) is read
    # again, so that the details the relay wrote are kept.
    for _ in range(2):
        if sent.status not in BOUNCEABLE:
            return
        marked = await session.execute(
            update(MESSAGE)
            .where(MESSAGE.c.id == sent.id, MESSAGE.c.status == sent.status)
            .values(status="failed", details={**sent.details, **failure})
        )
        if marked.rowcount == 1:  # type: ignore[attr-defined]
            break
        refreshed = await session.get(Message, sent.id, populate_existing=True)
        if refreshed is None:
            return
        sent = refreshed
    else:
        return
    notice = outbound.failure_notice(
        sent,
        assignee_agent_id=conversation.assignee_agent_id,
        code=code,
        reason=reason,
        expired=report.expired,
    )
    if notice is not None:
        await session.execute(_OUTBOX, emitted_values(session, notice))


async def _thread(
    session: AsyncSession,
    parsed: ParsedEmail,
    *,
    contact_id: uuid.UUID | None,
    by_report: Conversation | None,
    by_reference: Conversation | None,
    by_subject: Conversation | None,
    reopen_days: int,
    now: datetime,
) -> tuple[Conversation | None, Conversation | None]:
    """The conversation this email continues, if any, and else the one a new conversation
    follows (a closed, or long resolved, one): (existing, previous). Reads only; contact_id is
    None when the sender is new; by_reference is the sender's email conversation named by a
    reference in the subject, by_subject the sender's latest one with the email's subject,
    by_report the conversation of the email of ours that a bounce returns.

    In this order: the email a bounce returns, then a Message-ID we stored or sent
    (In-Reply-To, References), then the quoted reference, then the subject. The reference and
    the subject continue a conversation that is open or resolved less than reopen_days ago (the
    email reopens it); past that, or closed, a new conversation follows it."""
    keys = [key[:500] for key in thread_keys(parsed)[:100]]
    by_header = by_report or await conversations.find_by_message_ids(session, keys)
    forwarded_by_other = (
        by_report is None
        and by_header is not None
        and by_header.contact_id != contact_id
        and is_forward(parsed.subject)
    )
    previous: Conversation | None = None
    if by_header is not None and not forwarded_by_other:
        if by_header.status != "closed":
            return by_header, None
        previous = by_header
    if by_reference is not None and by_reference.contact_id != contact_id:
        by_reference = None  # never another contact's conversation (the lookup reads none)
    for candidate in (by_reference, by_subject):
        if candidate is None:
            continue
        if conversations.within_reopen_window(candidate, now=now, days=reopen_days):
            return candidate, None
        previous = previous or candidate
    return None, previous
