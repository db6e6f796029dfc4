"""Detection answers en, fr or und with evidence, uses hints in order and never varies."""

import json
import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from services.translation.detection.detector import (
    HINT_ORDER,
    UND_BELOW,
    Hints,
    InvalidHintError,
    detect,
    detect_many,
)

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = "Hello, I still have not received my order and I would like a refund please."
FRENCH = "Bonjour, je n'ai toujours pas reçu ma commande et je voudrais être remboursé."


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (ENGLISH, "en"),
        (FRENCH, "fr"),
        ("Can you call me back tomorrow morning?", "en"),
        ("Pouvez-vous me rappeler demain matin ?", "fr"),
        ("Je n'ai pas recu la facture, pouvez-vous la renvoyer", "fr"),
        ("MERCI DE ME RAPPELER", "fr"),
        ("Thank you", "en"),
        ("Merci beaucoup", "fr"),
    ],
)
def test_plain_texts_are_detected_from_the_text(text: str, language: str) -> None:
    detection = detect(text)
    assert detection.language == language
    assert detection.evidence == ["text"]
    assert detection.confidence >= UND_BELOW
    assert detection.confidence == detection.scores[language]
    assert detection.scores["en"] + detection.scores["fr"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Reçu", "fr"),
        ("Recu", "fr"),
        ("Déjà payé", "fr"),
        ("Deja paye", "fr"),
        ("Désolé", "fr"),
        ("Desole", "fr"),
        ("Numéro", "fr"),
        ("Numero", "fr"),
        ("Très bien", "fr"),
        ("Tres bien", "fr"),
        ("Annulé", "fr"),
        ("Facture", "fr"),
        ("Oui", "fr"),
        ("Nœud", "fr"),
        ("Merci !", "fr"),
        ("Invoice", "en"),
        ("Refund", "en"),
        ("Sorry", "en"),
        ("Already paid", "en"),
        ("Yes please", "en"),
        ("Call me", "en"),
    ],
)
def test_one_or_two_words_with_or_without_accents_are_detected(text: str, language: str) -> None:
    detection = detect(text)
    assert detection.language == language
    assert detection.evidence == ["text"]


@pytest.mark.parametrize(
    ("text", "language"),
    [("L'email", "fr"), ("L’email", "fr"), ("C'est OK", "fr"), ("It's OK", "en"), ("Don't", "en")],
)
def test_french_elisions_and_english_contractions_decide_around_a_loanword(
    text: str, language: str
) -> None:
    assert detect(text).language == language


def test_english_title_case_leans_english() -> None:
    for title, sentence in (("Image Format", "Image format"), ("Note Date", "Note date")):
        assert detect(title).scores["en"] > detect(sentence).scores["en"]


@pytest.mark.parametrize(
    ("english", "french"),
    [("incorrect code", "code incorrect"), ("possible action", "action possible")],
)
def test_adjective_before_the_noun_is_english_after_it_french(english: str, french: str) -> None:
    assert detect(english).language == "en"
    assert detect(french).language == "fr"


def test_a_french_reply_above_english_history_is_french() -> None:
    text = (
        "Je n'ai toujours rien reçu.\n\nCordialement,\nJean\n\n"
        "On Mon, Mar 3, 2025 at 10:42 AM Support <support@example.com> wrote:\n"
        "> Hello, your order has shipped and will arrive within five business days.\n"
        "> Please let us know if there is anything else we can do for you.\n"
    )
    detection = detect(text)
    assert detection.language == "fr"
    assert detection.removed == ["quote", "signature"]


def test_an_english_body_above_a_french_disclaimer_is_english() -> None:
    text = (
        "Please cancel my subscription.\n\nAVIS DE CONFIDENTIALITÉ : Ce courriel est "
        "confidentiel et destiné exclusivement à son destinataire. Si vous n'êtes pas le "
        "destinataire visé, veuillez le détruire et en aviser l'expéditeur."
    )
    assert detect(text).language == "en"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "12345",
        "#A12345-678 2025-000123",
        "+1 514-555-0199",
        "OK",
        "Email",
        "https://x.ca",
    ],
)
def test_text_without_language_evidence_is_und(text: str) -> None:
    detection = detect(text)
    assert detection.language == "und"
    assert detection.evidence == []
    assert detection.confidence < UND_BELOW


def _opposite(language: str) -> str:
    return "en" if language == "fr" else "fr"


_HINT_VALUES = {
    "content_language": {"en": "en-US", "fr": "fr-CA"},
    "line_language": {"en": "en", "fr": "fr"},
    "contact_language": {"en": "en-CA", "fr": "fr"},
    "accept_language": {"en": "en-GB,en;q=0.9", "fr": "fr-CA,fr;q=0.9,en;q=0.5"},
    "sender_domain": {"en": "john@example.co.uk", "fr": "jean@exemple.fr"},
    "phone_region": {"en": "CA-ON", "fr": "CA-QC"},
}


@pytest.mark.parametrize("name", HINT_ORDER)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_hint_alone_decides_an_empty_text(name: str, language: str) -> None:
    detection = detect("", Hints(**{name: _HINT_VALUES[name][language]}))
    assert detection.language == language
    assert detection.evidence == [f"hint:{name}"]


@pytest.mark.parametrize(("first", "later"), list(pairwise(HINT_ORDER)))
@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_earlier_hint_wins_over_a_later_conflicting_one(
    first: str, later: str, language: str
) -> None:
    hints = Hints(
        **{first: _HINT_VALUES[first][language], later: _HINT_VALUES[later][_opposite(language)]}
    )
    detection = detect("", hints)
    assert detection.language == language
    assert detection.evidence == [f"hint:{first}"]


def test_the_documented_order_is_declared_then_line_then_contact() -> None:
    assert HINT_ORDER == (
        "content_language",
        "line_language",
        "contact_language",
        "accept_language",
        "sender_domain",
        "phone_region",
    )


@pytest.mark.parametrize(
    ("hints", "language", "decider"),
    [
        (Hints(content_language="de", line_language="fr"), "fr", "line_language"),
        (Hints(accept_language="de-DE,fr;q=0.8,en;q=0.5"), "fr", "accept_language"),
        (Hints(accept_language="en;q=0,fr;q=0.1"), "fr", "accept_language"),
        (Hints(sender_domain="client@example.com", phone_region="FR"), "fr", "phone_region"),
        (Hints(sender_domain="gouv.qc.ca"), "fr", "sender_domain"),
        (Hints(phone_region="CA", contact_language="fr_CA"), "fr", "contact_language"),
    ],
)
def test_hints_naming_neither_language_are_skipped(
    hints: Hints, language: str, decider: str
) -> None:
    detection = detect("", hints)
    assert detection.language == language
    assert detection.evidence == [f"hint:{decider}"]


@pytest.mark.parametrize(
    "hints",
    [Hints(), Hints(content_language="de"), Hints(phone_region="CA-NB", sender_domain="x.com")],
)
def test_unusable_hints_leave_an_empty_text_und(hints: Hints) -> None:
    assert detect("", hints).language == "und"


def test_a_confident_text_outweighs_a_conflicting_hint() -> None:
    detection = detect(ENGLISH, Hints(content_language="fr", contact_language="fr"))
    assert detection.language == "en"
    assert detection.evidence == ["text"]


def test_a_short_ambiguous_text_is_decided_by_the_hint() -> None:
    for language, hints in (("fr", Hints(line_language="fr")), ("en", Hints(line_language="en"))):
        detection = detect("Message", hints)
        assert detection.language == language
        assert detection.evidence[0] == "hint:line_language"


def test_evidence_lists_agreeing_signals_strongest_first() -> None:
    strong_text = detect(FRENCH, Hints(phone_region="CA-QC"))
    assert strong_text.evidence == ["text", "hint:phone_region"]
    weak_text = detect("Message", Hints(content_language="fr"))
    assert weak_text.language == "fr"
    assert weak_text.evidence == ["hint:content_language", "text"]
    alone = detect(FRENCH, Hints(phone_region="CA-ON"))
    assert alone.evidence == ["text"]
    assert alone.confidence < detect(FRENCH).confidence


def test_a_hint_raises_confidence_when_it_agrees() -> None:
    assert detect("Merci", Hints(contact_language="fr")).confidence > detect("Merci").confidence


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("content_language", "fr CA"),
        ("contact_language", ""),
        ("line_language", "français!"),
        ("accept_language", "fr;q=2"),
        ("accept_language", "fr,,en"),
        ("phone_region", "Quebec"),
        ("phone_region", "CA_QC"),
        ("sender_domain", "not a domain"),
        ("sender_domain", "jean@"),
    ],
)
def test_malformed_hints_are_rejected_with_the_field_named(field: str, value: str) -> None:
    with pytest.raises(InvalidHintError, match=re.escape(f"hints.{field}=")) as error:
        Hints(**{field: value})
    assert error.value.field == field
    assert error.value.reason


def test_well_formed_hints_are_accepted() -> None:
    hints = Hints(
        content_language="fr-CA",
        accept_language="fr-CA, fr;q=0.9, en;q=0.8, *;q=0.1",
        contact_language="en_US",
        line_language="fr",
        phone_region="ca-qc",
        sender_domain="jean.gagnon@exemple.québec",
    )
    assert detect("", hints).language == "fr"


def test_a_non_string_hint_is_rejected() -> None:
    with pytest.raises(InvalidHintError, match=r"hints\.line_language"):
        Hints(line_language=1)  # type: ignore[arg-type]


def test_bad_arguments_to_detect_are_rejected() -> None:
    with pytest.raises(TypeError, match="text must be a str"):
        detect(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hints must be Hints"):
        detect(FRENCH, {"line_language": "fr"})  # type: ignore[arg-type]


SAMPLES = [
    ENGLISH,
    FRENCH,
    "OK",
    "Type",
    "Message",
    "Taille maximale",
    "Font options",
    "",
    "Deja paye",
    "L'email",
    "code incorrect",
    "Image Format",
]


def test_same_text_same_answer_on_every_call() -> None:
    first = [detect(text) for text in SAMPLES]
    for _ in range(3):
        assert [detect(text) for text in SAMPLES] == first
    assert detect_many(SAMPLES) == first
    assert detect_many(iter(SAMPLES), Hints(line_language="fr")) == [
        detect(text, Hints(line_language="fr")) for text in SAMPLES
    ]


def test_same_answer_in_a_fresh_process_with_another_hash_seed() -> None:
    code = (
        "import json, sys\n"
        "from services.translation.detection.detector import detect\n"
        "out = [(d.language, d.confidence, d.evidence, d.scores)\n"
        "       for d in (detect(t) for t in json.load(sys.stdin))]\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="977", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(SAMPLES),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    here = [[d.language, d.confidence, d.evidence, d.scores] for d in detect_many(SAMPLES)]
    assert json.loads(result.stdout) == here
