"""Tokenisation: our chunk cache in front of spaCy gives exactly spaCy's tokens, first time and every time after."""

from __future__ import annotations

import pytest

from service.core.tokenize import tokenize

TEXTS = {
    "en": "Hello,\n\nI'm writing AGAIN (3rd time!!) - can't log in since 9 a.m. :( see https://x.example/a?b=1 e.g. the app...",
    "de": "Hallo zusammen,\n\nich habe z.B. seit 3 Tagen kein Internet!!! Bitte um Rückruf, d.h. heute noch.",
    "fr": "Bonjour, j'ai été débité deux fois aujourd'hui... c'est-à-dire 2x 49,99€ ?! Merci d'avance.",
    "es": "Hola: ¿me podéis ayudar? No me llega el SMS de verificación (¡otra vez!) :-/ Gracias.",
    "ru": "Здравствуйте! Уже 3-й раз пишу, т.е. проблема не решена... Интернет не работает с утра.",
    "et": "Tere! Arve on jälle vale, s.t. maksin 2x. Palun parandage ära, aitäh :)",
    "xx": "Ciao! Il mio ordine n. 12345 non è arrivato... grazie mille :)",
}


def _spacy_tokens(text: str, lang: str) -> list[str]:
    import spacy

    return [t.text for t in spacy.blank(lang)(text) if not t.is_space]


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_tokenize_matches_spacy_first_time_and_after(lang):
    text = TEXTS[lang]
    want = _spacy_tokens(text, lang)
    assert tokenize(text, lang) == want  # chunks not seen yet: one spaCy call over them
    assert tokenize(text, lang) == want  # every chunk from the cache
    mixed = text.split()[0] + " brandnewword,again!! " + text
    assert tokenize(mixed, lang) == _spacy_tokens(mixed, lang)  # some chunks cached, some new


def test_tokenize_whitespace_only_and_japanese():
    assert tokenize(" \n\t ", "en") == []
    assert "ログイン" in tokenize("ログインできません", "ja")
