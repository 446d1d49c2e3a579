"""The five labels of the taxonomy (see shared LABELS.md) and their one-line meanings."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("duplicate", "out_of_scope", "hostile", "billing", "fault")

DESCRIPTIONS: dict[str, str] = {
    "duplicate": "The customer repeats a request that is already open (resends, chases, says it was sent before).",
    "out_of_scope": "Outside what the contract or product covers, or not a support request at all.",
    "hostile": "Aggressive or abusive tone toward the agent or the company.",
    "billing": "Money: charges, invoices, refunds, fees, prices, plans, payment methods, failed payments.",
    "fault": "Something is broken or does not work as it should.",
}


def check_labels(labels: list[str] | tuple[str, ...]) -> list[str]:
    """Return the unknown labels in ``labels`` (empty when all are known)."""
    return [label for label in labels if label not in LABELS]
