"""The seeded templates: approved contact-centre wording, each key in English and French.

French texts are stored as they should read, with typographic apostrophes (’) and U+202F before
« ; : ! ? », since administrators read and edit them (rendering applies the same typography to
edited texts). The French is neutral, for customers in Canada and in Europe alike.

Signatures follow one rule in both languages: the last line names the department without an
article, "Customer Service" / « Service à la clientèle », below the agent's name when an agent
signs. ``SEED_EXAMPLES`` holds JSON-ready sample variables per key and language, usable as API
examples; datetimes carry an offset, so render them with the customer's or queue's time zone.

Seeds are inserted only when missing (``service.seed_templates``): an install seeded earlier keeps
its stored text, except that a text still exactly as an earlier release seeded it (listed in
``superseded.py``, where a changed seed's former text goes) is replaced at start-up with today's
(``service.upgrade_seeds``); an administrator's edit always stands.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

from services.translation.templates.render import TemplateVersion, Variable

SEEDED_AT = datetime(2025, 1, 1, tzinfo=UTC)


def _twins(
    key: str, variables: tuple[Variable, ...], english: tuple[str, str], french: tuple[str, str]
) -> tuple[TemplateVersion, TemplateVersion]:
    return (
        TemplateVersion(key, "en", *english, variables, updated_at=SEEDED_AT),
        TemplateVersion(key, "fr", *french, variables, updated_at=SEEDED_AT),
    )


_CUSTOMER = Variable("customer_name")
_REFERENCE = Variable("reference")
_AGENT = Variable("agent_name")

_ACKNOWLEDGEMENT = _twins(
    "email.acknowledgement",
    (_CUSTOMER, _REFERENCE, Variable("response_time", "duration")),
    (
        "We received your message (ref. {reference})",
        "Hello {customer_name},\n\n"
        "Thank you for contacting us. This automatic message confirms that we have received "
        "your email.\n\n"
        "Your reference number is {reference}. A member of our team will reply within "
        "{response_time}. If you write to us again about this request, please keep the reference "
        "number in the subject line so that we can follow up quickly.\n\n"
        "You do not need to reply to this message.\n\n"
        "Customer Service",
    ),
    (
        "Nous avons bien reçu votre message (réf. {reference})",
        "Bonjour {customer_name},\n\n"
        "Merci de nous avoir écrit. Ce message automatique confirme que nous avons bien reçu "
        "votre courriel.\n\n"
        "Votre numéro de référence est le {reference}. Un membre de notre équipe vous répondra "
        "dans un délai de {response_time}. Si vous nous écrivez de nouveau au sujet de cette "
        "demande, veuillez conserver ce numéro dans l’objet de votre courriel\u202f: nous pourrons "
        "ainsi assurer un suivi rapide.\n\n"
        "Il est inutile de répondre à ce message.\n\n"
        "Service à la clientèle",
    ),
)

# ``queue_name`` stays declared, and the inbox keeps passing it, though the text no longer shows
# it: queue names are staff labels ("Email — English"). Dropping the declaration would make the
# inbox's value an unknown variable here, and no longer passing it would break the installs
# whose stored notice, seeded earlier, still says {queue_name}.
_OUT_OF_HOURS = _twins(
    "notice.out_of_hours",
    (Variable("queue_name"), Variable("hours")),
    (
        "Your message was received outside our business hours",
        "Hello,\n\n"
        "Thank you for contacting us. Your message reached us outside our business hours.\n\n"
        "Our business hours are: {hours}.\n\n"
        "Your message has been saved and will be handled in the order it was received as soon "
        "as we reopen; there is no need to send it again. If your request is urgent, please call "
        "us during business hours.\n\n"
        "Thank you for your patience.\n\n"
        "Customer Service",
    ),
    (
        "Votre message a été reçu en dehors de nos heures d’ouverture",
        "Bonjour,\n\n"
        "Merci de nous avoir écrit. Votre message nous est parvenu en dehors de nos heures "
        "d’ouverture.\n\n"
        "Nos heures d’ouverture sont les suivantes\u202f: {hours}.\n\n"
        "Votre message a été enregistré et sera traité par ordre d’arrivée dès notre "
        "réouverture\u202f; il est inutile de nous le renvoyer. Si votre demande est urgente, "
        "veuillez nous téléphoner pendant nos heures d’ouverture.\n\n"
        "Merci de votre patience.\n\n"
        "Service à la clientèle",
    ),
)

_CALLBACK = _twins(
    "callback.confirmation",
    # a phone, not text: "+15145550177" reads « 514 555-0177 » / "514-555-0177" to the customer
    (_CUSTOMER, _REFERENCE, Variable("callback_at", "datetime"), Variable("phone_number", "phone")),
    (
        "Your callback is confirmed (ref. {reference})",
        "Hello {customer_name},\n\n"
        "As requested, one of our agents will call you at {phone_number} on "
        "{callback_at:datetime:full}. Please make sure you can be reached at that number.\n\n"
        "If this time no longer suits you, or if your number has changed, simply reply to this "
        "email and mention your reference number, {reference}.\n\n"
        "Thank you,\n\n"
        "Customer Service",
    ),
    (
        "Confirmation de votre rappel (réf. {reference})",
        "Bonjour {customer_name},\n\n"
        "Comme vous l’avez demandé, l’un de nos agents vous rappellera au {phone_number} le "
        "{callback_at:datetime:full}. Veuillez vous assurer d’être joignable à ce numéro.\n\n"
        "Si ce moment ne vous convient plus ou si votre numéro a changé, il vous suffit de "
        "répondre à ce courriel en indiquant votre numéro de référence\u202f: {reference}.\n\n"
        "Cordialement,\n\n"
        "Service à la clientèle",
    ),
)

_PAYMENT_ARRANGEMENT = _twins(
    "letter.payment_arrangement",
    (
        _CUSTOMER,
        _AGENT,
        Variable("account_number"),
        Variable("agreed_on", "date"),
        Variable("total_amount", "money"),
        Variable("installment_count", "number"),
        Variable("installment_amount", "money"),
        Variable("first_due", "date"),
        Variable("last_due", "date"),
    ),
    (
        "Your payment arrangement (account {account_number})",
        # "Hello", not "Dear": without a name the greeting still reads "Hello," (never "Dear,")
        "Hello {customer_name},\n\n"
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
    (
        "Votre entente de paiement (compte {account_number})",
        "Bonjour {customer_name},\n\n"
        "La présente confirme l’entente de paiement que vous avez conclue avec {agent_name} le "
        "{agreed_on:date} pour le compte {account_number}.\n\n"
        "Solde visé par l’entente\u202f: {total_amount}\n"
        "Nombre de versements\u202f: {installment_count}\n"
        "Montant de chaque versement\u202f: {installment_amount}\n"
        "Premier versement\u202f: au plus tard le {first_due:date}\n"
        "Dernier versement\u202f: au plus tard le {last_due:date}\n\n"
        "Veuillez effectuer chaque versement au plus tard à la date prévue. Si un versement n’est "
        "pas effectué, l’entente pourrait être annulée et la totalité du solde restant pourrait "
        "devenir exigible. Si votre situation change, prenez contact avec nous avant la "
        "prochaine échéance\u202f: nous examinerons avec vous les options possibles.\n\n"
        "Veuillez conserver cette lettre. Si l’un des renseignements ci-dessus est inexact, "
        "prenez contact avec nous dans les meilleurs délais.\n\n"
        "Nous vous remercions de votre collaboration.\n\n"
        "Veuillez agréer nos salutations distinguées.\n\n"
        "{agent_name}\n"
        "Service à la clientèle",
    ),
)

_CLOSING = _twins(
    "conversation.closing",
    (_CUSTOMER, _REFERENCE, _AGENT),
    (
        "Your request {reference} has been resolved",
        "Hello {customer_name},\n\n"
        "Thank you for contacting us. We consider your request {reference} resolved, so we have "
        "closed it.\n\n"
        "If you have any other questions about it, simply reply to this email and we will reopen "
        "your request. For anything new, you are welcome to write to us at any time.\n\n"
        "Thank you for your trust, and have a great day!\n\n"
        "{agent_name}\n"
        "Customer Service",
    ),
    (
        "Votre demande {reference} est réglée",
        "Bonjour {customer_name},\n\n"
        "Merci de nous avoir écrit. Nous considérons que votre demande {reference} est "
        "réglée\u202f; nous l’avons donc fermée.\n\n"
        "Si vous avez d’autres questions à ce sujet, il vous suffit de répondre à ce "
        "courriel\u202f: nous rouvrirons votre demande. Pour toute nouvelle demande, n’hésitez pas "
        "à nous écrire.\n\n"
        "Merci de votre confiance et bonne journée\u202f!\n\n"
        "{agent_name}\n"
        "Service à la clientèle",
    ),
)

SEED_TEMPLATES: tuple[TemplateVersion, ...] = (
    *_ACKNOWLEDGEMENT,
    *_OUT_OF_HOURS,
    *_CALLBACK,
    *_PAYMENT_ARRANGEMENT,
    *_CLOSING,
)
#: The keys the inbox renders by itself (``services/inbox/outbound/automatic.py``), with no agent
#: to notice a failure, and the variables it passes: every version of such a key declares exactly
#: these (its text may leave one out, as the notice leaves out ``queue_name``), its deletion is
#: refused, and start-up restores one found absent.
REQUIRED_VARIABLES: Mapping[str, tuple[Variable, ...]] = {
    twins[0].key: twins[0].variables for twins in (_ACKNOWLEDGEMENT, _OUT_OF_HOURS)
}
REQUIRED_KEYS: frozenset[str] = frozenset(REQUIRED_VARIABLES)

_PEOPLE = {
    "en": {"customer_name": "Jordan Smith", "agent_name": "Sophie Gagnon"},
    "fr": {"customer_name": "Marie-Ève Tremblay", "agent_name": "Sophie Gagnon"},
}
_REF = {"reference": "CC-2025-004217"}

SEED_EXAMPLES: Mapping[str, Mapping[str, Mapping[str, object]]] = {
    "email.acknowledgement": {
        language: {"customer_name": people["customer_name"], **_REF, "response_time": 14_400}
        for language, people in _PEOPLE.items()
    },
    "notice.out_of_hours": {
        "en": {
            "queue_name": "Billing",
            "hours": "Monday to Friday, 8\u202fa.m. to 11\u202fp.m.; Saturday and Sunday, "
            "9\u202fa.m. to 5\u202fp.m. (Eastern Time). We reopen at 8\u202fa.m. on Monday, "
            "March 3, 2025",
        },
        "fr": {
            "queue_name": "Facturation",
            "hours": "du lundi au vendredi, de 8\u00a0h à 23\u00a0h\u202f; le samedi et le "
            "dimanche, de 9\u00a0h à 17\u00a0h (heure de l’Est). Nous rouvrons le lundi 3 mars "
            "2025 à 8\u00a0h",
        },
    },
    "callback.confirmation": {
        language: {
            "customer_name": people["customer_name"],
            **_REF,
            "callback_at": "2025-03-04T14:30:00+00:00",
            "phone_number": "+1 514-555-0142",
        }
        for language, people in _PEOPLE.items()
    },
    "letter.payment_arrangement": {
        language: {
            **people,
            "account_number": "4417-2290",
            "agreed_on": "2025-03-04",
            "total_amount": "1234.56",
            "installment_count": 3,
            "installment_amount": {"amount": "411.52", "currency": "CAD"},
            "first_due": "2025-04-01",
            "last_due": "2025-06-01",
        }
        for language, people in _PEOPLE.items()
    },
    "conversation.closing": {language: {**people, **_REF} for language, people in _PEOPLE.items()},
}
