"""Text normalisation for real help-desk input.

``normalize(raw)`` turns what a help desk hands us (HTML mail bodies, quoted earlier replies,
signatures, mojibake, full-width characters, URLs, e-mail addresses, numbers) into the text the
model reads, plus *signal* tokens for what cleaning removes but the model should still know:
shouting, runs of "!!!"/"???", a quoted or forwarded earlier message.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

import ftfy

MAX_CHARS = 20_000  # beyond this a message is cut before any regex runs (keeps 100 kB input cheap)

_HTML_HINT = re.compile(r"<(?:p|br|div|span|html|body|table|td|tr|li|ul|b|i|a|font|strong|em)\b[^>]*>|&(?:nbsp|amp|lt|gt|quot|#\d+);", re.I)
_HTML_BLOCK = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h\d)\s*/?>", re.I)
_HTML_TAG = re.compile(r"<[^<>]{0,500}>")
_HTML_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_MOJIBAKE_HINT = re.compile(r"[ÃÂÐÑâ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|ã[\x80-\xbf\u201a-\u203a]")

# Lines that start an earlier message quoted below the new one (cut there).
_QUOTE_HEADERS = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message|пересылаемое сообщение|исходное сообщение|"
    r"message d'origine|message transféré|ursprüngliche nachricht|weitergeleitete nachricht|"
    r"mensaje original|mensaje reenviado|algne kiri|edastatud kiri|元のメッセージ|転送メッセージ)\s*-{2,}"
    r"|on .{3,120} wrote:|le .{3,120} a écrit\s*:|am .{3,120} schrieb .{0,80}:|el .{3,120} escribió:"
    r"|.{3,120} написал\(?а?\)?:|.{3,120} kirjutas:|.{3,120} wrote:|from:\s.+\bsent:\s.+"
    r"|\d{4}[/年-]\d{1,2}[/月-]\d{1,2}.{0,60}(?:wrote|書きました|のメッセージ):?)\s*$",
    re.I,
)
_FORWARD_HEADERS = re.compile(r"forward|пересыла|transféré|weitergeleitet|reenviado|edastatud|転送|^\s*fwd?:", re.I)
_SIGNATURE_START = re.compile(
    r"^\s*(?:--\s*|__+|sent from my \w+.*|envoyé de mon .*|von meinem .* gesendet|enviado desde mi .*|"
    r"отправлено с .*|saadetud minu .*|get outlook for .*)$",
    re.I,
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_RUN = re.compile(r"\d{5,}")
_DIGIT = re.compile(r"\d")
_SPACES = re.compile(r"[ \t\u00a0\u200b]{2,}|[\t\u00a0\u200b]")  # a lone space is left alone: same result, far fewer replacements
_BLANK_LINES = re.compile(r"\n{3,}")
_EXCLAIM = re.compile(r"[!！]{2,}")
_QUESTION = re.compile(r"[?？]{2,}")


@dataclass(frozen=True)
class Normalized:
    """The cleaned text (case kept: tokenisers and language id want it) and the signal tokens; ``plain`` is the
    same text before URLs, e-mail addresses and digits were masked (what a sentence-embedding model reads best)."""

    text: str
    signals: tuple[str, ...]
    plain: str = ""


@dataclass(frozen=True)
class NormalizeOptions:
    """Preprocessing flags; the trained model stores the ones it was trained with."""

    strip_quotes: bool = True
    strip_signatures: bool = True
    mask: bool = True


def html_to_text(text: str) -> str:
    text = _HTML_DROP.sub(" ", text)
    text = _HTML_BLOCK.sub("\n", text)
    text = _HTML_TAG.sub(" ", text)
    return html.unescape(text)


def repair(text: str) -> str:
    """Repair mojibake and odd encodings, only when there is a hint of it (ftfy is slow-ish)."""
    if _MOJIBAKE_HINT.search(text):
        text = ftfy.fix_text(text)
    return text


def strip_quoted(text: str) -> tuple[str, list[str]]:
    """Drop ``>``-quoted lines and everything below an earlier-message header."""
    signals: list[str] = []
    kept: list[str] = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(">"):
            if "sig_quoted" not in signals:
                signals.append("sig_quoted")
            continue
        if kept and any(k.strip() for k in kept) and _QUOTE_HEADERS.match(line):
            signals.append("sig_forwarded" if _FORWARD_HEADERS.search(line) else "sig_quoted")
            break
        kept.append(line)
    return "\n".join(kept), signals


def strip_signature(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i > 0 and _SIGNATURE_START.match(line):
            return "\n".join(lines[:i])
    return text


def mask(text: str) -> str:
    # The cheap membership tests skip patterns that cannot match; the e-mail pattern is slow on long text.
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" urlx ", text)
    if "@" in text:
        text = _EMAIL.sub(" emailx ", text)
    if _DIGIT.search(text):
        text = _DIGIT_RUN.sub("00000", text)
        text = _DIGIT.sub("0", text)
    return text


def signals_of(text: str) -> list[str]:
    """Tone signals read off the text before lower-casing."""
    out: list[str] = []
    upper = sum(map(str.isupper, text))
    cased = upper + sum(map(str.islower, text))
    if cased >= 8:
        ratio = upper / cased
        if ratio > 0.7:
            out.append("sig_shout")
        elif ratio > 0.35:
            out.append("sig_halfshout")
    if _EXCLAIM.search(text):
        out.append("sig_exclaim")
    if _QUESTION.search(text):
        out.append("sig_questions")
    return out


def normalize(raw: str, options: NormalizeOptions = NormalizeOptions()) -> Normalized:
    """Clean one message; never raises on odd input (empty in, empty out)."""
    text = raw[:MAX_CHARS] if len(raw) > MAX_CHARS else raw
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if ("<" in text or "&" in text) and _HTML_HINT.search(text):
        text = html_to_text(text)
    text = repair(text)
    text = unicodedata.normalize("NFKC", text)
    signals: list[str] = []
    if options.strip_quotes:
        text, quote_signals = strip_quoted(text)
        signals.extend(quote_signals)
    if options.strip_signatures:
        text = strip_signature(text)
    plain = text
    if options.mask:
        text = mask(text)
    signals.extend(signals_of(text))
    tidy = _tidy(text)
    return Normalized(text=tidy, signals=tuple(signals), plain=tidy if plain == text else _tidy(plain))


def _tidy(text: str) -> str:
    return _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text)).strip()
