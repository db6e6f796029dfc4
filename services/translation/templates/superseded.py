"""Earlier texts of the seeded templates, which start-up replaces with today's where unedited.

Seeds are inserted only when missing, so an install seeded by an earlier release kept the text
of that release, such as the out-of-hours notice that named the internal queue to customers
(« … destiné au service {queue_name} »). A stored version whose subject, body and variables are
still exactly one of these, never edited since, is given the current seed's text at start-up
(``service.upgrade_seeds``); any other text is an administrator's and stays.

One entry per (key, locale) text a release replaced, written out as that release seeded it
(``git log -p services/translation/templates/seed.py``): add the replaced text here whenever a
seed's wording changes.

A seed whose declared variables change (a type, such as the callback confirmation's number
becoming a phone) lists its earlier declaration in ``SUPERSEDED_VARIABLES``: a stored version of
today's text or of an earlier one, declared so and untouched, is given today's seed too, but
only when every version of its key can be (untouched, or declared as today already), so the
twins never end up declaring different variables. A key with a version an administrator wrote
keeps its declaration in every language: changing it is theirs to do.
"""

from dataclasses import dataclass

from services.translation.templates.render import Variable


@dataclass(frozen=True, slots=True)
class SupersededSeed:
    """A seeded version's text as an earlier release stored it, declaring today's variables or
    an earlier declaration of its key (``SUPERSEDED_VARIABLES``)."""

    key: str
    locale: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class SupersededVariables:
    """The variables every version of a seeded key declared in an earlier release."""

    key: str
    variables: tuple[Variable, ...]


#: Seeded until the phone type existed: the callback number was text, shown as given
#: ("+15145550177") instead of as people write it (« 514 555-0177 », "514-555-0177").
SUPERSEDED_VARIABLES: tuple[SupersededVariables, ...] = (
    SupersededVariables(
        "callback.confirmation",
        (
            Variable("customer_name"),
            Variable("reference"),
            Variable("callback_at", "datetime"),
            Variable("phone_number"),
        ),
    ),
)


#: Seeded by the first release (bbfc5f8), replaced in 152ccf6: French typeset and neutral,
#: signatures without an article, the notice without the queue name, the letter's payments.
SUPERSEDED_SEEDS: tuple[SupersededSeed, ...] = (
    SupersededSeed(
        "email.acknowledgement",
        "fr",
        "Nous avons bien reçu votre message (réf. {reference})",
        "Bonjour {customer_name},\n\n"
        "Merci d'avoir communiqué avec nous. Ce message automatique confirme que nous avons "
        "bien reçu votre courriel.\n\n"
        "Votre numéro de référence est le {reference}. Un membre de notre équipe vous "
        "répondra dans un délai de {response_time}. Si vous nous écrivez de nouveau au sujet "
        "de cette demande, veuillez conserver ce numéro dans l'objet de votre courriel : nous "
        "pourrons ainsi assurer un suivi rapide.\n\n"
        "Vous n'avez pas à répondre à ce message.\n\n"
        "Le Service à la clientèle",
    ),
    SupersededSeed(
        "notice.out_of_hours",
        "en",
        "Your message was received outside our business hours",
        "Hello,\n\n"
        "Thank you for contacting us. Your message to {queue_name} reached us outside our "
        "business hours.\n\n"
        "Our business hours are: {hours}.\n\n"
        "Your message has been saved and will be handled in the order it was received as soon "
        "as we reopen; there is no need to send it again. If your request is urgent, please "
        "call us during business hours.\n\n"
        "Thank you for your patience.\n\n"
        "Customer Service",
    ),
    SupersededSeed(
        "notice.out_of_hours",
        "fr",
        "Votre message a été reçu en dehors de nos heures d'ouverture",
        "Bonjour,\n\n"
        "Merci d'avoir communiqué avec nous. Votre message destiné au service {queue_name} "
        "nous est parvenu en dehors de nos heures d'ouverture.\n\n"
        "Nos heures d'ouverture sont les suivantes : {hours}.\n\n"
        "Votre message a été enregistré et sera traité par ordre d'arrivée dès notre "
        "réouverture; vous n'avez pas à le renvoyer. Si votre demande est urgente, veuillez "
        "nous téléphoner pendant nos heures d'ouverture.\n\n"
        "Merci de votre patience.\n\n"
        "Le Service à la clientèle",
    ),
    SupersededSeed(
        "callback.confirmation",
        "fr",
        "Confirmation de votre rappel (réf. {reference})",
        "Bonjour {customer_name},\n\n"
        "Comme vous l'avez demandé, un de nos agents vous rappellera au {phone_number} le "
        "{callback_at:datetime:full}. Veuillez vous assurer d'être joignable à ce numéro.\n\n"
        "Si ce moment ne vous convient plus ou si votre numéro a changé, il vous suffit de "
        "répondre à ce courriel en indiquant votre numéro de référence : {reference}.\n\n"
        "Merci,\n\n"
        "Le Service à la clientèle",
    ),
    SupersededSeed(
        "letter.payment_arrangement",
        "en",
        "Your payment arrangement (account {account_number})",
        "Dear {customer_name},\n\n"
        "This letter confirms the payment arrangement you made with {agent_name} on "
        "{agreed_on:date} for account {account_number}.\n\n"
        "Balance covered by this arrangement: {total_amount}\nPayments: {installment_count} "
        "instalments of {installment_amount}\nFirst payment due: {first_due:date}\nLast payment "
        "due: {last_due:date}\n\n"
        "Please make each payment on or before its due date. If a payment is missed, the "
        "arrangement may be cancelled and the full remaining balance may become due. If your "
        "situation changes, contact us before your next due date and we will review the "
        "options available to you.\n\n"
        "Please keep this letter for your records. If any of the details above are incorrect, "
        "contact us as soon as possible.\n\n"
        "Thank you for working with us to settle your account.\n\n"
        "Sincerely,\n\n"
        "{agent_name}\nCustomer Service",
    ),
    SupersededSeed(
        "letter.payment_arrangement",
        "fr",
        "Votre entente de paiement (compte {account_number})",
        "Bonjour {customer_name},\n\n"
        "La présente confirme l'entente de paiement conclue avec {agent_name} le "
        "{agreed_on:date} pour le compte {account_number}.\n\n"
        "Solde visé par l'entente : {total_amount}\nVersements : {installment_count} "
        "versements de {installment_amount}\nPremier versement : au plus tard le "
        "{first_due:date}\nDernier versement : au plus tard le {last_due:date}\n\n"
        "Veuillez effectuer chaque versement au plus tard à la date prévue. Si un versement "
        "n'est pas effectué, l'entente pourrait être annulée et la totalité du solde restant "
        "pourrait devenir exigible. Si votre situation change, communiquez avec nous avant la "
        "prochaine échéance; nous examinerons avec vous les options possibles.\n\n"
        "Veuillez conserver cette lettre pour vos dossiers. Si l'un des renseignements "
        "ci-dessus est inexact, communiquez avec nous dans les meilleurs délais.\n\n"
        "Nous vous remercions de votre collaboration.\n\n"
        "Veuillez agréer nos salutations distinguées.\n\n"
        "{agent_name}\nService à la clientèle",
    ),
    SupersededSeed(
        "conversation.closing",
        "fr",
        "Votre demande {reference} est réglée",
        "Bonjour {customer_name},\n\n"
        "Merci d'avoir communiqué avec nous. Nous considérons que votre demande {reference} "
        "est réglée; nous l'avons donc fermée.\n\n"
        "Si vous avez d'autres questions à ce sujet, il vous suffit de répondre à ce courriel "
        ": nous rouvrirons votre demande. Pour toute nouvelle demande, n'hésitez pas à nous "
        "écrire.\n\n"
        "Merci de votre confiance et bonne journée !\n\n"
        "{agent_name}\nService à la clientèle",
    ),
    # Seeded from 152ccf6, replaced in the next release: "Dear {customer_name}," read "Dear,"
    # to a customer who gave no name; the letter now opens "Hello {customer_name},".
    SupersededSeed(
        "letter.payment_arrangement",
        "en",
        "Your payment arrangement (account {account_number})",
        "Dear {customer_name},\n\n"
        "This letter confirms the payment arrangement you made with {agent_name} on "
        "{agreed_on:date}, for account {account_number}.\n\n"
        "Balance covered by this arrangement: {total_amount}\n"
        "Number of payments: {installment_count}\n"
        "Amount of each payment: {installment_amount}\n"
        "First payment due: {first_due:date}\n"
        "Last payment due: {last_due:date}\n\n"
        "Please make each payment on or before its due date. If a payment is missed, the "
        "arrangement may be cancelled and the full remaining balance may become due. If your "
        "situation changes, contact us before your next due date and we will review the options "
        "available to you.\n\n"
        "Please keep this letter for your records. If any of the details above are incorrect, "
        "contact us as soon as possible.\n\n"
        "Thank you for working with us to settle your account.\n\n"
        "Sincerely,\n\n"
        "{agent_name}\n"
        "Customer Service",
    ),
)
