"""Word tokenisation: spaCy blank pipelines per language, SudachiPy for Japanese.

Tokenisers are built lazily, once per process, and shared (spaCy's tokenizer and Sudachi's are
read-only after construction). French costs ~5 s to import, so services call ``warm()`` at start-up.
Unknown languages use spaCy's multi-language ``xx`` tokenizer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from itertools import accumulate

SPACY_LANGS = ("en", "ru", "fr", "de", "es", "et")
CACHE_CHUNKS = 30_000  # per language, cleared when full: about 18 MB at most (measured ~600 bytes a chunk, spaCy lexemes included)
_cache: dict[str, Callable[[str], list[str]]] = {}
_lock = threading.Lock()


def _spacy_tokenizer(lang: str) -> Callable[[str], list[str]]:
    import spacy
    from spacy.attrs import IDX, IS_SPACE, ORTH

    nlp = spacy.blank(lang)
    tokenizer = nlp.tokenizer
    strings = nlp.vocab.strings
    chunks: dict[str, tuple[str, ...]] = {}

    def run(text: str) -> list[str]:
        # spaCy splits each whitespace-delimited chunk on its own and caches the result, but stops caching for the
        # rest of a text after its first special case ("I'm", "z.B.", ":)"), so most of a long English mail was split
        # again on every call. We keep our own bounded cache of chunk -> tokens, and send only the chunks it lacks to
        # spaCy, in one call (the same tokens as the whole text: a test holds them equal).
        parts = text.split()
        known = {c: chunks.get(c) for c in parts}
        missing = [c for c, toks in known.items() if toks is None]
        if missing:
            # Reading ids out with to_array avoids building a Python Token object per token (several times faster).
            arr = tokenizer(" ".join(missing)).to_array([ORTH, IS_SPACE, IDX]).tolist()
            ends = list(accumulate(len(c) + 1 for c in missing))  # a chunk's tokens start before its end offset
            split: list[list[str]] = [[] for _ in missing]
            j = 0
            for orth, space, idx in arr:
                while idx >= ends[j]:
                    j += 1
                if not space:
                    split[j].append(strings[orth])
            if len(chunks) + len(missing) > CACHE_CHUNKS:
                chunks.clear()
            for c, toks in zip(missing, split):
                known[c] = chunks[c] = tuple(toks)
        out: list[str] = []
        for c in parts:
            out.extend(known[c])
        return out

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
