"""The wrap-up codes a new installation starts with, in English and French."""

from __future__ import annotations

DEFAULT_DISPOSITIONS: tuple[tuple[str, str, str], ...] = (
    ("resolved_first_contact", "Resolved on first contact", "Réglé au premier contact"),
    ("information_provided", "Information provided", "Renseignements fournis"),
    ("billing_adjusted", "Billing adjusted", "Facturation corrigée"),
    ("payment_arrangement", "Payment arrangement made", "Entente de paiement conclue"),
    ("technical_ticket", "Technical ticket opened", "Billet technique ouvert"),
    ("escalated_tier2", "Escalated to tier 2", "Transmis au niveau 2"),
    ("callback_scheduled", "Callback scheduled", "Rappel planifié"),
    ("no_response", "No response from the customer", "Aucune réponse du client"),
    ("wrong_number", "Wrong number", "Mauvais numéro"),
    ("spam", "Spam", "Pourriel"),
)
