"""Word tokenisation: spaCy blank pipelines per language, SudachiPy for Japanese.

Tokenisers are built lazily, once per process, and shared (spaCy's tokenizer and Sudachi's are
read-only after construction). French costs ~5 s to import, so services call ``warm()`` at start-up.
Unknown languages use spaCy's multi-language ``xx`` tokenizer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

SPACY_LANGS = ("en", "ru", "fr", "de", "es", "et")
_cache: dict[str, Callable[[str], list[str]]] = {}
_lock = threading.Lock()


def _spacy_tokenizer(lang: str) -> Callable[[str], list[str]]:
    import spacy
    from spacy.attrs import IS_SPACE, ORTH

    nlp = spacy.blank(lang)
    tokenizer = nlp.tokenizer
    strings = nlp.vocab.strings

    def run(text: str) -> list[str]:
        # Reading ids out with to_array avoids building a Python Token object per token (several times faster).
        arr = tokenizer(text).to_array([ORTH, IS_SPACE])
        if arr.size == 0:
            return []
        return [strings[h] for h in arr[arr[:, 1] == 0, 0].tolist()]

    return run


def _sudachi_tokenizer() -> Callable[[str], list[str]]:
    from sudachipy import Dictionary, SplitMode

    dictionary = Dictionary()
    tok = dictionary.tokenizer(mode=SplitMode.A) if hasattr(dictionary, "tokenizer") else dictionary.create(mode=SplitMode.A)
    lock = threading.Lock()  # a Sudachi tokenizer object is not safe to share across threads

    def run(text: str) -> list[str]:
        with lock:
            morphemes = tok.tokenize(text)
            return [m.surface() for m in morphemes if not m.surface().isspace()]

    return run


def get_tokenizer(lang: str) -> Callable[[str], list[str]]:
    key = lang if lang in SPACY_LANGS or lang == "ja" else "xx"
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _cache:
            _cache[key] = _sudachi_tokenizer() if key == "ja" else _spacy_tokenizer(key)
    return _cache[key]


def tokenize(text: str, lang: str) -> list[str]:
    return get_tokenizer(lang)(text)


def warm(langs: Iterable[str] = SPACY_LANGS + ("ja", "xx")) -> None:
    for lang in langs:
        get_tokenizer(lang)
