"""Normalisation of real help-desk input."""

from __future__ import annotations

import pytest

from service.core.normalize import NormalizeOptions, normalize


def test_normalize_strips_quoted_reply_and_flags_it():
    raw = "Still broken, see below.\n\nOn Mon, 3 March 2025, Support <help@x.com> wrote:\n> Please restart the router.\n> Regards"
    out = normalize(raw)
    assert "restart the router" not in out.text
    assert "Still broken" in out.text
    assert "sig_quoted" in out.signals


def test_normalize_cuts_forwarded_message():
    raw = "Sending this again.\n---------- Forwarded message ---------\nFrom: me\nMy invoice is wrong"
    out = normalize(raw)
    assert "invoice" not in out.text
    assert "sig_forwarded" in out.signals


def test_normalize_strips_signature():
    raw = "The app crashes on start.\n--\nMarta Kask\nSales manager\nTel. +372 555 1234"
    assert "Marta" not in normalize(raw).text


def test_normalize_html_to_text():
    out = normalize("<p>Hello&nbsp;team,</p><p>my <b>bill</b> is wrong</p><br>")
    assert "<" not in out.text and "bill" in out.text and "\xa0" not in out.text


def test_normalize_repairs_mojibake():
    assert "été" in normalize("Le paiement a Ã©tÃ© refusÃ©").text
    assert "Привет" in normalize("ÐŸÑ€Ð¸Ð²ÐµÑ‚").text


def test_normalize_keeps_emoji_and_masks_urls_emails_numbers():
    out = normalize("😡 see https://x.com/a?b=1 or mail bob@example.org, order 123456789")
    assert "😡" in out.text
    assert "https" not in out.text and "urlx" in out.text
    assert "bob@" not in out.text and "emailx" in out.text
    assert "123456789" not in out.text


def test_normalize_plain_text_is_unmasked_but_equally_cleaned():
    raw = "Hi, order 123456 never came, see https://shop.example/track\n\n> On Monday you wrote:\n> old text 999"
    out = normalize(raw)
    assert "123456" in out.plain and "https://shop.example/track" in out.plain
    assert "old text" not in out.plain and "old text" not in out.text  # quotes are stripped from both
    assert "123456" not in out.text and "never came" in out.text and "never came" in out.plain
    assert normalize(raw, NormalizeOptions(mask=False)).plain == normalize(raw, NormalizeOptions(mask=False)).text


def test_normalize_shouting_and_exclamations_are_signals():
    out = normalize("WHY IS MY INTERNET DOWN AGAIN!!!")
    assert {"sig_shout", "sig_exclaim"} <= set(out.signals)
    assert "sig_shout" not in normalize("Why is my internet down again?").signals


@pytest.mark.parametrize("raw", ["", "   ", "\n\n"])
def test_normalize_empty_input_gives_empty_text(raw):
    assert normalize(raw).text == ""


def test_normalize_large_input_is_bounded():
    out = normalize("word " * 20_000 + "!!!")
    assert len(out.text) <= 20_000


def test_normalize_full_width_japanese_is_folded():
    assert "ABC123" not in normalize("ＡＢＣ１２３ ログインできません").text
    assert "abc000" in normalize("ＡＢＣ１２３ ログインできません").text.lower()


@pytest.mark.parametrize("raw,masked", [
    ("go to WWW.Shop.example/help now", "go to urlx now"),
    ("HTTPS://files.example/x?a=1 failed", "urlx failed"),
    ("write to Ana.Lopez+soporte@correo.example.es ya", "write to emailx ya"),
    ("no links, no mail, no digits here", "no links, no mail, no digits here"),
    ("tabs\tand\u00a0nbsp  and   runs", "tabs and nbsp and runs"),
])
def test_normalize_masks_and_spaces_exactly(raw, masked):
    """The shortcuts that skip patterns which cannot match (no "@", no "://" or "www.", no digit) and leave lone spaces
    alone give the same text as running every pattern."""
    assert normalize(raw).text == masked
