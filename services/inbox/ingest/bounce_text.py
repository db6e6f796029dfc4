"""Bounces written as text (qmail, Exim, Yahoo, Gmail, Exchange's and Postfix's text forms, French
ones) rather than as a delivery status notification: no status part, only words, the returned
email's header fields quoted in the text and the remote server's answer above them. Read without a
grammar of each vendor's form: the Message-ID fields the text quotes (for the caller to look up
among the emails we sent), then above that quoted header block the first SMTP answer (an RFC 3463
status such as 5.1.1 and/or a reply code such as 550) and words saying whether delivery is still
being tried (English and French)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.inbox.ingest.headers import message_ids
from services.inbox.ingest.reports import MAX_DIAGNOSTIC_CHARS, DeliveryReport

#: The start of a bounce's text is read: its words, the answer and the returned email's headers.
MAX_SCANNED_CHARS = 128 * 1024
#: Quoted Message-IDs looked up per bounce.
MAX_QUOTED_IDS = 20
#: Lines of a multi-line answer kept after its first.
MAX_ANSWER_LINES = 8
#: Signals of a sender that is a mail system (a null return path, MAILER-DAEMON, postmaster).
DAEMON_SIGNALS = frozenset({"null-return-path", "mailer-daemon"})

_SPACE = r"[ \t\u00a0\u202f]"
#: Subjects of delivery failures and delays, English and French.
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|not\s+delivered|could\s+not\s+be\s+delivered|non[-\s]?delivery"
    r"|(?:delivery|mail|message)\s+(?:status|failure|failed|has\s+failed|error|notification"
    r"|delay)|failure\s+notice|returned\s+mail|returning\s+message|mail\s+system\s+error"
    r"|delayed\s+mail|could\s+not\s+send\s+message"
    r"|non[-\s]+(?:remis|distribu|d[ée]livr|livr)|[ée]chec\s+(?:de\s+(?:la\s+)?)?(?:remise"
    r"|livraison|distribution|l['’]envoi)|[ée]tat\s+de\s+(?:la\s+)?(?:remise|distribution)"
    r"|n['’]a\s+pas\s+(?:encore\s+)?pu\s+[êe]tre|impossible\s+de\s+(?:remettre|distribuer"
    r"|livrer)|courrier\s+(?:retourn|non\s+remis)|message\s+retourn|remise\s+(?:retard|diff)",
    re.IGNORECASE,
)
#: Words saying that the email was given up.
_GAVE_UP = re.compile(
    r"given\s+up|giving\s+up|gave\s+up|not\s+going\s+to\s+try\s+again|will\s+not\s+(?:be\s+)?"
    r"retr|no\s+(?:more|further)\s+(?:attempts|retries)|no\s+longer\s+(?:try|retr)|too\s+long"
    r"|cannot\s+send\s+message\s+for|aucune\s+(?:autre\s+|nouvelle\s+)?tentative"
    r"|ne\s+sera\s+plus|abandonn|d[ée]finitivement",
    re.IGNORECASE,
)
#: Words saying that delivery is still being tried (a delay, not a failure).
_STILL_TRYING = re.compile(
    r"will\s+(?:keep|continue)\s+(?:trying|to\s+try|attempting)|attempts\s+will\s+continue"
    r"|will\s+(?:retry|try\s+again|be\s+retried)|still\s+(?:trying|being\s+retried)"
    r"|not\s+yet\s+(?:been\s+)?delivered|(?:has\s+been|is|was|being)\s+delayed"
    r"|delivery\s+delayed|delayed\s+(?:mail|delivery)|\(delay\)|warning\s+only"
    r"|could\s+not\s+send\s+message\s+for\s+past|do\s+not\s+need\s+to\s+resend"
    r"|nouvelles?\s+tentatives?|nouvel\s+essai|r[ée]essai|sera\s+(?:de\s+nouveau\s+)?"
    r"(?:retent|r[ée]essay)|pas\s+encore\s+(?:pu\s+)?(?:[êe]t[ée]\s+)?(?:remis|distribu|livr)"
    r"|retard[ée]|diff[ée]r[ée]",
    re.IGNORECASE,
)
#: Subjects of notices that the email was delivered.
_DELIVERED = re.compile(
    r"\(success\)|^\s*(?:delivered|relayed|remis|distribu[ée])\s*:|successful(?:ly)?\s+deliver"
    r"|remis\s+avec\s+succ",
    re.IGNORECASE,
)
#: Words saying that the email could not be delivered.
_FAILED = re.compile(
    r"could\s*n[o']?t\s+be\s+delivered|could\s+not\s+deliver|(?:was|were)\s*n[o']?t\s+able\s+to"
    r"\s+deliver|unable\s+to\s+deliver|undeliver|delivery\s+.{0,80}failed|failed\s+permanently"
    r"|permanent\s+(?:error|failure)|did\s+not\s+reach|non[-\s]+remis|n['’]a\s+pas\s+pu\s+[êe]tre"
    r"\s+(?:remis|distribu|livr|envoy|d[ée]livr)|[ée]chec|impossible\s+de\s+(?:remettre"
    r"|distribuer|livrer)|erreur\s+permanente",
    re.IGNORECASE,
)
#: An RFC 3463 status of a failure (4.x.x, 5.x.x), not part of a version, name or IP address.
_STATUS = re.compile(r"(?<![\w.])(?<![A-Za-z]-)([45])\.\d{1,3}\.\d{1,3}(?![\w-]|\.\d)")
#: An SMTP reply code opening a line or following a colon (``said: 550 …``, ``]: 550 …``).
_REPLY = re.compile(rf"(?:^[ \t>]*|:{_SPACE}*)([45]\d\d)(?=[ -]\S|[ \t]*$)", re.MULTILINE)
#: A status that a reply code opens, wherever it is (``returned '550 5.1.1 …``).
_CODED_STATUS = re.compile(rf"(?<![\w.])[45]\d\d[ -](?={_STATUS.pattern})")
#: A quoted header field's name (once a quoting ``>`` is removed), and that quoting.
_FIELD = re.compile(r"([!-9;-~]{1,76}?)[ \t]*:")
_QUOTE = re.compile(r"(?:>[ \t]?)+")
_MESSAGE_ID = re.compile(r"message-id", re.IGNORECASE)
#: Quotation marks around an answer, by the one that opens it.
_QUOTES = {"'": "'", '"': '"', "«": "»", "“": "”"}


def reads_as_bounce(subject: str, signals: Sequence[str]) -> bool:
    """Whether an email is read as a bounce: an auto-reply (``signals`` not empty) from a mail
    system (null return path, MAILER-DAEMON, postmaster), or whose subject reports a delivery
    failure or delay, in English or French."""
    if not signals:
        return False
    return not DAEMON_SIGNALS.isdisjoint(signals) or _BOUNCE_SUBJECT.search(subject) is not None


def quoted_emails(text: str) -> QuotedEmails:
    """The Message-IDs that a bounce's text quotes in header fields (Message-ID,
    Original-Message-ID …, never In-Reply-To or References), normalized, in order, at most
    MAX_QUOTED_IDS."""
    scanned = text[:MAX_SCANNED_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    starts: dict[str, int] = {}
    if _MESSAGE_ID.search(scanned) is None:
        return QuotedEmails(scanned, starts)
    block: int | None = None  # where the header block being read starts
    field: str | None = None
    offset = 0
    for line in scanned.split("\n"):
        at, offset = offset, offset + len(line) + 1
        quote = _QUOTE.match(line)
        bare = line[quote.end() :] if quote else line
        if not bare.strip():
            block = field = None
            continue
        if bare[0] in " \t":  # a continuation line, when a field is being read
            if field is None:
                block = None
                continue
        elif (found := _FIELD.match(bare)) is not None:
            field = found.group(1).lower()
            block = at if block is None else block
        else:
            block = field = None
            continue
        if block is not None and field.endswith("message-id") and not field.startswith("resent"):
            for message_id in message_ids(bare)[: MAX_QUOTED_IDS - len(starts)]:
                starts.setdefault(message_id, block)
            if len(starts) >= MAX_QUOTED_IDS:
                break
    return QuotedEmails(scanned, starts)


@dataclass(frozen=True)
class QuotedEmails:
    """What quoted_emails read: the text read, and each quoted Message-ID with where its quoted
    header block starts."""

    text: str
    starts: dict[str, int]

    @property
    def message_ids(self) -> list[str]:
        return list(self.starts)

    def report(self, message_id: str, subject: str) -> DeliveryReport:
        """What the bounce says of the email whose quoted headers hold ``message_id``, read in
        the text above them and in the subject: ``failed`` with the remote server's answer when
        the email was given up (a 5.x.x status or 5xx code; a 4.x.x one once the text says
        it gave up; without any, words of a failure), ``delayed`` when it is still being tried
        (a 4.x.x status or words saying so), no action when it says neither or that the email
        was delivered."""
        above = self.text[: self.starts.get(message_id, len(self.text))]
        # The answer: the first reply code or status a reply code opens, else the first status.
        answers = []
        if (coded := _CODED_STATUS.search(above)) is not None:
            answers.append(coded.start())
        if (reply := _REPLY.search(above)) is not None:
            answers.append(reply.start(1))
        first = _STATUS.search(above)
        start = min(answers) if answers else first.start() if first else None
        diagnostic = _answer(above, start) if start is not None else None
        status = _STATUS.search(diagnostic or "") or first
        opening = re.match(r"[45]", diagnostic or "")
        kind = status.group(1) if status else opening.group(0) if opening else None
        words = f"{subject}\n{above}"
        gave_up = _GAVE_UP.search(words) is not None
        if _DELIVERED.search(subject) is not None:
            action: str | None = None
        elif _STILL_TRYING.search(words) is not None and not gave_up:
            action = "delayed"
        elif kind == "5" or (kind == "4" and gave_up):
            action = "failed"
        elif kind == "4":
            action = "delayed"
        elif gave_up or _FAILED.search(words) or _BOUNCE_SUBJECT.search(subject):
            action = "failed"
        else:
            action = None
        return DeliveryReport(
            message_id=message_id,
            action=action,
            status=status.group(0) if status else f"{kind}.0.0" if kind else None,
            diagnostic=diagnostic,
        )


def _answer(text: str, start: int) -> str | None:
    """The remote server's answer starting at ``start``: the rest of its line, with the lines
    that continue it (indented, or a multi-line reply's next lines, ``550-5.1.1 …``), on one
    line."""
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    first = text[start:end]
    closing = _QUOTES.get(text[start - 1 : start])
    if closing is not None and closing in first:  # Exchange: returned '550 5.1.1 …'
        return " ".join(first[: first.index(closing)].split())[:MAX_DIAGNOSTIC_CHARS] or None
    parts = [first]
    opening = re.match(r"([45]\d\d)[ -](?:([45]\.\d{1,3}\.\d{1,3}) )?", first)
    while end < len(text) and len(parts) <= MAX_ANSWER_LINES:
        following = text.find("\n", end + 1)
        following = len(text) if following < 0 else following
        line = text[end + 1 : following]
        end = following
        if opening is not None and line[:4] in (f"{opening[1]}-", f"{opening[1]} "):
            rest = line[4:]
            parts.append(rest.removeprefix(f"{opening[2]} ") if opening[2] else rest)
        elif line[:1] in (" ", "\t") and line.strip():
            parts.append(line)
        else:
            break
    return " ".join(" ".join(parts).split())[:MAX_DIAGNOSTIC_CHARS] or None
