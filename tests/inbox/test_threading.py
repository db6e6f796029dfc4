"""Subject normalization and Message-ID keys that put a reply in its conversation."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from services.inbox.conversations.service import new_reference
from services.inbox.conversations.threading import (
    MAX_SUBJECT_REFERENCES,
    MAX_THREAD_KEYS,
    is_forward,
    normalize_subject,
    subject_references,
    thread_keys,
)


@pytest.mark.parametrize(
    "subject",
    [
        "Facture impayée ?",
        "Re: Facture impayée ?",
        "RE : Facture impayée?",
        "RE\u00a0: TR\u202f: Facture impayée\u202f?",
        "Re[2]: Re: Facture impayée ?",
        "Re(3): Facture impayée ?",
        "Fwd: Fw: FW: Facture impayée ?",
        "Réf. : Facture impayée ?",
        "Ref: Facture impayée ?",
        "AW: WG: Facture impayée ?",
        "SV: Antw: Facture impayée ?",
        "[Ticket #123] RE: Facture impayée ?",
        "RE: [Ticket #123] Facture impayée ? [#123]",
        "  FACTURE   IMPAYÉE ?  ",
        "回复：Facture impayée ?",
    ],
)
def test_reply_forward_and_tag_variants_share_one_key(subject: str) -> None:
    assert normalize_subject(subject) == "facture impayée?"


@pytest.mark.parametrize(
    "subject",
    [
        "Refund: please",
        "Store: wrong size",
        "Return label missing",
        "Trade-in credit",
        "Problème RE: facture",
        "Réclamation",
        "Tri des colis",
    ],
)
def test_words_that_only_look_like_prefixes_are_kept(subject: str) -> None:
    assert normalize_subject(subject) == " ".join(subject.split()).casefold()


def test_guillemets_and_spacing_before_punctuation_compare_equal() -> None:
    assert normalize_subject("Re : « Commande » annulée !") == normalize_subject(
        "«Commande» annulée!"
    )
    assert normalize_subject("Commande annulée") != normalize_subject("Commande validée")


def test_empty_and_prefix_only_subjects_normalize_to_empty() -> None:
    assert normalize_subject("") == ""
    assert normalize_subject("RE : RE: ") == ""
    assert normalize_subject("[Ticket #9]") == ""


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("TR : Votre commande n° 1234", True),
        ("TR\u00a0: Votre commande", True),
        ("Fwd: Order 55", True),
        ("[Ticket #4] WG: Bestellung", True),
        ("RE: TR : Votre commande", False),
        ("Re: Fwd: Order 55", False),
        ("Votre commande TR: 55", False),
        ("Trajet annulé", False),
    ],
)
def test_is_forward_reads_the_outermost_prefix(subject: str, expected: bool) -> None:
    assert is_forward(subject) is expected


@dataclass(frozen=True)
class Headers:
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = field(default_factory=tuple)


def test_thread_keys_put_in_reply_to_first_then_newest_references() -> None:
    headers = Headers(
        message_id="new@exemple.fr",
        in_reply_to="c@boutique.example",
        references=("a@boutique.example", "b@boutique.example", "c@boutique.example"),
    )

    assert thread_keys(headers) == [
        "c@boutique.example",
        "b@boutique.example",
        "a@boutique.example",
    ]


def test_thread_keys_skip_missing_duplicate_and_own_ids() -> None:
    headers = Headers(
        message_id="self@exemple.fr",
        in_reply_to=None,
        references=("a@x.fr", "self@exemple.fr", "a@x.fr", "b@x.fr"),
    )

    assert thread_keys(headers) == ["b@x.fr", "a@x.fr"]
    assert thread_keys(Headers()) == []


def test_thread_keys_are_bounded_to_the_newest() -> None:
    references = tuple(f"{number}@x.fr" for number in range(MAX_THREAD_KEYS * 2))

    keys = thread_keys(Headers(references=references))

    assert len(keys) == MAX_THREAD_KEYS
    assert keys[0] == references[-1]


@pytest.mark.parametrize(
    "subject",
    [
        "Question — réf. C-U29BBDYV",
        "Question — réf.\u202fC-U29BBDYV",
        "[C-U29BBDYV] Question",
        "Re: Votre facture (C-U29BBDYV)",
        "RE : Nous avons bien reçu votre message (réf. c-u29bbdyv)",
        "C-U29BBDYV",
        "Dossier #C-U29BBDYV, suite",
        "Dossier «C-U29BBDYV»!",
        "Ｃ－Ｕ２９ＢＢＤＹＶ",  # full-width, as some phones type it
    ],
)
def test_a_reference_is_found_anywhere_in_the_subject_in_any_case(subject: str) -> None:
    assert subject_references(subject) == ["C-U29BBDYV"]


@pytest.mark.parametrize(
    "subject",
    [
        "Facture erronée",
        "C-U29BBDYV2",
        "XC-U29BBDYV",
        "C-U29BBDYV-2",
        "A-C-U29BBDYV",
        "C-U29BBDY",
        "C-U29BBDY0",  # 0 and O, 1 and I are never in a reference
        "C-U29BBDYI",
        "C U29BBDYV",
        "éC-U29BBDYV",
    ],
)
def test_only_a_whole_reference_is_found(subject: str) -> None:
    assert subject_references(subject) == []


def test_references_are_kept_in_order_once_and_bounded() -> None:
    references = [new_reference() for _ in range(MAX_SUBJECT_REFERENCES + 3)]
    subject = " ".join([references[1].lower(), *references])

    assert (
        subject_references(subject)
        == [references[1], references[0], *references[2:]][:MAX_SUBJECT_REFERENCES]
    )


def test_every_new_reference_is_found_in_a_subject() -> None:
    for _ in range(200):
        reference = new_reference()
        assert subject_references(f"Suivi (réf. {reference})") == [reference]
