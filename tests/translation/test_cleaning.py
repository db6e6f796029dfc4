"""Cleaning keeps what the customer newly wrote and strips history, signatures and noise."""

import pytest

from services.translation.detection.cleaning import clean_text

NEW_EN = "Where is my parcel? It was due last week."
NEW_FR = "Où est mon colis ? Il devait arriver la semaine dernière."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Mar 3, 2025 at 10:42 AM Marie Tremblay <marie@example.com> wrote:",
        "On Mon, Mar 3, 2025 at 10:42 AM Marie Tremblay <\nmarie@example.com> wrote:",
        "Le lun. 3 mars 2025 à 10:42, Marie Tremblay <marie@example.com> a écrit :",
        "Le lun. 3 mars 2025 à 10:42, Marie Tremblay <marie@example.com> a écrit\u202f:",
        "Le 3 mars 2025 à 10:42, Marie Tremblay a écrit\u00a0:",
    ],
)
@pytest.mark.parametrize(
    ("new", "quoted"),
    [(NEW_EN, "Bonjour, votre colis est parti."), (NEW_FR, "Hello, your parcel has shipped.")],
)
def test_attribution_and_quoted_lines_are_removed(attribution: str, new: str, quoted: str) -> None:
    cleaned = clean_text(f"{new}\n\n{attribution}\n> {quoted}\n> --\n> Support\n")
    assert cleaned.text == new
    assert cleaned.removed == ["quote"]


@pytest.mark.parametrize(
    "history",
    [
        "-----Original Message-----\nFrom: Support <s@example.com>\nSent: Monday, March 3, 2025"
        "\nTo: Jean\nSubject: RE: Order\n\nHello, your parcel has shipped.",
        "-----Message d'origine-----\nDe : Support <s@example.com>\nEnvoyé : lundi 3 mars 2025"
        "\nÀ : Jean\nObjet : RE : Commande\n\nBonjour, votre colis est parti.",
        "From: Support <s@example.com>\nSent: Monday, March 3, 2025 10:42 AM\nTo: Jean\n"
        "Subject: Order\n\nHello, your parcel has shipped.",
        "*De :* Support <s@example.com>\n*Envoyé :* lundi 3 mars 2025 10:42\n*À :* Jean\n"
        "*Objet :* Commande\n\nBonjour, votre colis est parti.",
        "________________________________\nFrom: Support\nSent: Monday\n\nHello there.",
        "---------- Forwarded message ---------\nFrom: Support\nDate: Mon, Mar 3\n\nHello.",
        "---------- Message transféré ---------\nDe : Support\nDate : lun. 3 mars\n\nBonjour.",
        "Begin forwarded message:\n\nFrom: Support\nSubject: Order\n\nHello.",
        "Début du message réexpédié :\n\nDe : Support\nObjet : Commande\n\nBonjour.",
    ],
)
@pytest.mark.parametrize("new", [NEW_EN, NEW_FR])
def test_outlook_and_forward_blocks_cut_everything_below(history: str, new: str) -> None:
    cleaned = clean_text(f"{new}\n\n{history}")
    assert cleaned.text == new
    assert cleaned.removed == ["quote"]


def test_text_below_a_quote_is_kept_as_new_text() -> None:
    text = "Voir plus bas.\n\nOn Mon, Mar 3 wrote:\n> Any update?\n\nMa réponse : rien reçu."
    assert clean_text(text).text == "Voir plus bas.\n\nMa réponse : rien reçu."


def test_history_that_lost_its_quote_marks_is_cut() -> None:
    text = f"{NEW_FR}\n\nOn Mon, Mar 3, 2025, Support wrote:\nHello, your parcel has shipped."
    assert clean_text(text).text == NEW_FR


@pytest.mark.parametrize(
    ("new", "signature"),
    [
        (NEW_EN, "-- \nJohn Smith\nACME Inc."),
        (NEW_FR, "--\nJean Gagnon\nACME inc."),
        (NEW_EN, "Best regards,\nJohn Smith"),
        (NEW_EN, "Thanks,\nJohn"),
        (NEW_FR, "Cordialement,\nJean Gagnon\nDirecteur"),
        (NEW_FR, "Bien à vous,\nJean"),
        (NEW_FR, "Merci d'avance !\nJean"),
    ],
)
def test_signatures_and_closings_are_removed(new: str, signature: str) -> None:
    cleaned = clean_text(f"{new}\n\n{signature}")
    assert cleaned.text == new
    assert cleaned.removed == ["signature"]


@pytest.mark.parametrize(
    "tagline",
    [
        "Sent from my iPhone",
        "Envoyé de mon iPhone",
        "Get Outlook for Android",
        "Envoyé depuis mon mobile",
    ],
)
def test_mobile_taglines_are_removed(tagline: str) -> None:
    cleaned = clean_text(f"{NEW_FR}\n\n{tagline}")
    assert cleaned.text == NEW_FR
    assert cleaned.removed == ["signature"]


@pytest.mark.parametrize(
    "text",
    [
        "Merci !",
        "Thanks for the quick answer, it works now.",
        "Merci beaucoup pour votre aide, tout fonctionne.",
    ],
)
def test_a_closing_word_that_is_the_message_itself_is_kept(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned.text == text
    assert cleaned.removed == []


@pytest.mark.parametrize(
    ("new", "disclaimer"),
    [
        (
            NEW_FR,
            "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and "
            "intended solely for the addressee.",
        ),
        (
            NEW_FR,
            "This message may contain privileged information. If you are not the intended "
            "recipient, please delete it.",
        ),
        (
            NEW_EN,
            "AVIS DE CONFIDENTIALITÉ : Ce courriel est confidentiel et destiné "
            "exclusivement à son destinataire.",
        ),
        (
            NEW_EN,
            "Ce message peut contenir des renseignements confidentiels. Si vous n'êtes pas "
            "le destinataire visé, veuillez le détruire.",
        ),
    ],
)
def test_disclaimers_in_either_language_are_removed(new: str, disclaimer: str) -> None:
    cleaned = clean_text(f"{new}\n\n{disclaimer}\nSecond line of the footer.")
    assert cleaned.text == new
    assert cleaned.removed == ["disclaimer"]


@pytest.mark.parametrize(
    "text",
    [
        "Is my data kept confidential?\n\nI want to know who can read it.",
        "Hello,\n\nIf you are not able to deliver on Monday, please refund me.",
        "Bonjour,\n\nSi vous n'êtes pas en mesure de livrer lundi, remboursez-moi.",
        "Le livreur m'a écrit :\nvotre colis est perdu.\nQue dois-je faire ?",
        "On Monday my neighbour wrote:\nthe parcel is at my place.\nCan you confirm?",
        "J'ai fini.Ca marche maintenant.",
    ],
)
def test_customer_sentences_that_resemble_boilerplate_are_kept(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned.text == text
    assert cleaned.removed == []


def test_urls_addresses_phones_and_references_are_removed() -> None:
    text = (
        "Ma commande #A12345-678 n'est pas arrivée, voir https://shop.example.com/t?id=9 "
        "ou www.exemple.fr/suivi, écrivez à jean.gagnon@exemple.fr ou au +1 514-555-0199 "
        "(réf. 2025-000123)."
    )
    cleaned = clean_text(text)
    assert cleaned.removed == ["email", "url", "phone", "reference"]
    for gone in ("#A12345", "https", "www", "exemple.fr", "@", "514", "0199", "2025"):
        assert gone not in cleaned.text
    for kept in ("Ma commande", "n'est pas arrivée", "voir", "écrivez à", "réf."):
        assert kept in cleaned.text


def test_hyphen_lists_and_plain_text_are_untouched() -> None:
    text = "Je voudrais :\n- annuler la commande\n- être remboursé"
    cleaned = clean_text(text)
    assert cleaned.text == text
    assert cleaned.removed == []


def test_a_message_that_is_only_history_leaves_nothing() -> None:
    cleaned = clean_text("> Hello, your parcel has shipped.\n> Support")
    assert cleaned.text == ""
    assert cleaned.removed == ["quote"]


def test_crlf_line_endings_are_handled() -> None:
    text = f"{NEW_FR}\r\n\r\nCordialement,\r\nJean\r\n"
    assert clean_text(text).text == NEW_FR


@pytest.mark.parametrize("bad", [None, b"bytes", 42])
def test_a_non_string_is_rejected_clearly(bad: object) -> None:
    with pytest.raises(TypeError, match="text must be a str"):
        clean_text(bad)  # type: ignore[arg-type]
