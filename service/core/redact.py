"""PII redaction before anything is stored or logged.

Card numbers (13-19 digits that pass the Luhn check, spaces or dashes allowed), IBANs (checked with
mod 97), e-mail addresses, phone numbers and obvious secrets ("password: ...", bearer tokens, API
keys) are replaced by placeholders such as ``[CARD]``.
"""

from __future__ import annotations

import re

_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+(])[+(]?\d[\d ().-]{6,}\d(?!\w)")
_SECRET = re.compile(
    r"(?i)\b(password|passwort|mot de passe|contraseña|parool|пароль|パスワード|passcode|pin|api[_ -]?key|token|secret)"
    r"(\s*(?:is|est|ist|es|on|:|=|：)\s*)(\S+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/-]{12,}=*")
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group(0)


def _iban(m: re.Match) -> str:
    return "[IBAN]" if iban_ok(m.group(0)) else m.group(0)


def _phone(m: re.Match) -> str:
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw)
    groups = len(re.findall(r"\d+", raw))
    looks_like_phone = raw.startswith("+") or groups >= 3 or (groups == 2 and raw.lstrip()[0] in "0(")
    return "[PHONE]" if 7 <= len(digits) <= 15 and looks_like_phone else raw


def redact(text: str) -> str:
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[SECRET]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}[SECRET]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _IBAN.sub(_iban, text)
    text = _CARD.sub(_card, text)
    text = _PHONE.sub(_phone, text)
    return _LONG_TOKEN.sub("[SECRET]", text)
