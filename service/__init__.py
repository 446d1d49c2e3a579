"""Help-desk triage service: labels, scores, language, duplicates and handling for customer messages."""

__version__ = "0.1.0"
