"""Every word the code puts into a sentence (a state, a channel, a role, a language, a cause)
has its French in the catalog the service reads, and reads naturally in both languages."""

from __future__ import annotations

import pytest

from services.inbox.app import LOCALE_DIR as INBOX_LOCALES
from services.inbox.ingest.mime import UNPARSEABLE_TEXTS
from services.routing.app import LOCALE_DIR as ROUTING_LOCALES
from services.routing.engine.model import AgentStatus, Channel
from services.routing.errors import state_term
from services.routing.tasks.service import REFUSAL_TEXTS, _subject
from services.translation.app import LOCALE_DIR as TRANSLATION_LOCALES
from services.translation.detection.router import HINT_REASONS
from shared.auth import Role
from shared.clients.inbox import InboxClient
from shared.clients.routing import RoutingClient
from shared.clients.translation import TranslationClient
from shared.i18n import SHARED_LOCALE_DIR, Term, Translator
from shared.terms import LANGUAGE_NAMES, language_name

SHARED = Translator([SHARED_LOCALE_DIR])
INBOX = Translator([SHARED_LOCALE_DIR, INBOX_LOCALES])
ROUTING = Translator([SHARED_LOCALE_DIR, ROUTING_LOCALES])
TRANSLATION = Translator([SHARED_LOCALE_DIR, TRANSLATION_LOCALES])

TASK_STATES = ("waiting", "offered", "assigned", "wrap_up", "completed", "canceled")
OFFER_STATES = ("accepted", "rejected", "expired", "canceled")


def shared_words() -> list[str]:
    services = (InboxClient.service, RoutingClient.service, TranslationClient.service)
    return [
        *LANGUAGE_NAMES.values(),
        *(str(role) for role in Role),
        *(str(channel) for channel in Channel),
        *services,
    ]


@pytest.mark.parametrize(
    ("translator", "texts"),
    [
        (SHARED, shared_words()),
        (INBOX, [*UNPARSEABLE_TEXTS.values(), "English or French"]),
        (
            ROUTING,
            [state_term(state).text for state in {*TASK_STATES, *OFFER_STATES}]
            + [state_term(status).text for status in AgentStatus],
        ),
        (TRANSLATION, list(HINT_REASONS.values())),
    ],
    ids=["shared", "inbox", "routing", "translation"],
)
def test_each_word_has_a_french_translation_in_its_services_catalogs(
    translator: Translator, texts: list[str]
) -> None:
    missing = sorted(text for text in texts if not translator.has(text, "fr"))

    assert missing == []
    assert not [t for t in texts if "'" in translator.gettext(t, "fr")]


def test_languages_read_as_names_not_codes() -> None:
    assert [str(language_name(code)) for code in ("en", "fr")] == ["English", "French"]
    assert [SHARED.gettext(language_name(code).text, "fr") for code in ("en", "fr", "und")] == [
        "anglais",
        "français",
        "une langue indéterminée",
    ]
    assert language_name("de").text == "de"  # no name: the code as written


@pytest.mark.parametrize(
    ("code", "subject", "english", "french"),
    [
        (
            "channel_not_served",
            "fax",
            "The queue does not serve the fax channel.",
            "La file ne dessert pas le canal télécopie.",
        ),
        (
            "no_capacity",
            "email",
            "The agent has no spare capacity on the email channel.",
            "L’agent n’a plus de capacité libre sur le canal courriel.",
        ),
        (
            "not_available",
            "busy",
            "The agent is not available (busy).",
            "L’agent n’est pas disponible (occupé).",
        ),
        (
            "not_available",
            "wrap_up",
            "The agent is not available (in wrap-up).",
            "L’agent n’est pas disponible (en cours de clôture).",
        ),
        (
            "language_not_served",
            "en",
            "The queue does not take tasks in English.",
            "La file ne prend pas les tâches en anglais.",
        ),
        (
            "language_not_served",
            "und",
            "The queue does not take tasks in an undetermined language.",
            "La file ne prend pas les tâches dans une langue indéterminée.",
        ),
        (
            "language",
            "und",
            "The agent does not speak both English and French at the required level.",
            "L’agent ne parle pas à la fois anglais et français au niveau requis.",
        ),
        (
            "skill_missing",
            "billing",
            "The agent lacks the skill billing.",
            "Il manque à l’agent la compétence billing.",
        ),
    ],
)
def test_refusals_read_naturally_in_both_languages(
    code: str, subject: str, english: str, french: str
) -> None:
    texts = [
        ROUTING.format(REFUSAL_TEXTS[code], locale, {"subject": _subject(code, subject)})
        for locale in ("en", "fr")
    ]

    assert texts == [english, french]


def test_a_task_in_wrap_up_reads_as_words() -> None:
    message = "Only an assigned task can be completed; this one is {state}."
    params = {"state": state_term("wrap_up")}

    assert ROUTING.format(message, "en", params).endswith("this one is in wrap-up.")
    assert ROUTING.format(message, "fr", params).endswith("celle-ci est en cours de clôture.")
    assert isinstance(params["state"], Term)
