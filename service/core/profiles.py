"""What the duplicate check keeps of each message beside its signature, and how two messages' sentences and numbers match.

A resend says every sentence of the first message again, reworded; a new request of the same customer repeats the
greeting, the account number and the signature but adds a sentence the first message lacks, and often names other
numbers (another order, another amount). Whole-message similarities average that one sentence away. So each stored
message keeps (``Profile``): for every feature of its signature, one bit per sentence that contains it (up to
``MAX_SENTENCES``), and the hashes of the numbers and codes it names, taken from its redacted text. The pair scorer
(``service.core.pairs``) reads ``alignment`` and ``number_overlap`` of the new message against each open one.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from service.core import similarity

MAX_SENTENCES = 8  # sentences whose features a stored message marks (one bit each)
MAX_NUMBERS = 16  # numbers and codes a stored message keeps (hashed), of each kind
_NUMBER_TOKEN = re.compile(r"[^\W_]*\d[^\W_]*")
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_WORD = similarity._WORD


def sentences(text: str) -> list[str]:
    """The content's sentences that say something (three words or more; six CJK characters), the first
    ``MAX_SENTENCES``: the units whose match or mismatch tells a resend from a new request of the same customer."""
    return [part.strip() for part, is_sentence in _parts(similarity.content_lines(text)) if is_sentence][:MAX_SENTENCES]


def _parts(lines: list[str]) -> list[tuple[str, bool]]:
    """The content split at sentence ends (lowercased; words stay whole), each with whether it is a full sentence."""
    out = []
    for line in lines:
        for part in _SENTENCE_END.split(line.lower()):
            words = _WORD.findall(part)
            out.append((part, sum(len(w) for w in words) >= 6 if similarity.has_cjk(part) else len(words) >= 3))
    return out


@dataclass(eq=False)
class Profile:
    """What the duplicate check keeps of a message: its signature; for each signature feature (in the signature's
    order) a bit mask of the sentences that contain it (bit j: sentence j of ``sentences``); and the hashes of the
    numbers and codes it names (``numbers``)."""

    sig: dict[int, float]
    bits: np.ndarray  # uint8
    nums: tuple[list[int], list[int]]
    hashes: np.ndarray = field(init=False)  # uint32, the signature's features

    def __post_init__(self) -> None:
        self.hashes = np.fromiter(self.sig, dtype=np.uint32, count=len(self.sig))

    def to_stored(self, emb: np.ndarray | None) -> str:
        """The form the store keeps (``dumps_with_embedding``), with the message's embedding when the model has one."""
        return similarity.dumps_with_embedding(self.sig, emb, self.bits, self.nums)

    @classmethod
    def from_stored(cls, raw: str) -> Profile:
        """A stored message's profile; one stored before session 10 has no sentence bits and no numbers."""
        head, *rest = raw.split("|")
        sig = similarity.loads(head)
        parts = {part[:3]: part[3:] for part in rest}
        bits = np.frombuffer(base64.b64decode(parts["m1:"]), dtype=np.uint8) if "m1:" in parts else np.zeros(len(sig), np.uint8)
        nums: tuple[list[int], list[int]] = ([], [])
        if "n1:" in parts:
            data = np.frombuffer(base64.b64decode(parts["n1:"]), dtype="<u4").tolist()
            nums = (data[1 : 1 + data[0]], data[1 + data[0] :])
        return cls(sig, bits, nums)


def profile(text: str) -> Profile:
    """The text's profile in one pass over its content: words never span two parts, so the parts' features add up
    to the whole content's, and the signature equals ``signature(text)``."""
    feats: Counter[int] = Counter()
    masks: dict[int, int] = {}
    j = 0
    for part, is_sentence in _parts(similarity.content_lines(text)):
        found = similarity.features(part)
        feats.update(found)
        if is_sentence and j < MAX_SENTENCES:
            for h in found:
                masks[h] = masks.get(h, 0) | 1 << j
            j += 1
    sig = similarity.weigh(feats)
    bits = np.fromiter((masks.get(h, 0) for h in sig), dtype=np.uint8, count=len(sig))
    return Profile(sig, bits, numbers(text))


def alignment(new: Profile, old: Profile) -> tuple[float, float, float, int, int]:
    """How the two messages' sentences pair up, on their signature features (binary cosine of each pair of
    sentences): (the newest sentence of the new message: its best match among the old one's sentences; the mean
    of such best matches; the old message's least repeated sentence; the sentence counts, new and old). A resend
    says every sentence again in some form; a new request of the same customer shares the account number and
    the greeting but adds a sentence the old message lacks. A message whose bits mark no sentence (no full
    sentence, or stored before the bits were kept) counts its whole signature as one sentence."""
    b, a = _sentence_columns(new.bits), _sentence_columns(old.bits)
    if not b.shape[1] or not a.shape[1]:
        return 0.0, 0.0, 0.0, b.shape[1], a.shape[1]
    _, ib, ia = np.intersect1d(new.hashes, old.hashes, assume_unique=True, return_indices=True)
    shared = b[ib].T @ a[ia]
    sims = shared / np.sqrt(np.outer(b.sum(axis=0), a.sum(axis=0)))
    best_new = sims.max(axis=1)
    return float(best_new.min()), float(best_new.mean()), float(sims.max(axis=0).min()), b.shape[1], a.shape[1]


def _sentence_columns(bits: np.ndarray) -> np.ndarray:
    """(features, sentences) 0/1 matrix of the sentences that hold at least one feature."""
    cols = np.unpackbits(bits[:, None], axis=1, bitorder="little").astype(np.int64)
    cols = cols[:, cols.any(axis=0)]
    return cols if cols.shape[1] or not len(bits) else np.ones((len(bits), 1), dtype=np.int64)


def numbers(text: str) -> tuple[list[int], list[int]]:
    """Hashes of the numbers and codes the message names, read from its redacted form so that card, IBAN and phone
    numbers never reach the store even as hashes: the tokens that hold a digit ("h8rwq2", "87") and the runs of
    digits ("12.4" gives "12" and "4"), the first ``MAX_NUMBERS`` of each."""
    from service.core.redact import redact

    low = redact(text).lower()
    tokens = list(dict.fromkeys(_NUMBER_TOKEN.findall(low)))[:MAX_NUMBERS]
    runs = list(dict.fromkeys(_DIGITS.findall(low)))[:MAX_NUMBERS]
    return [zlib.crc32(("t:" + t).encode()) for t in tokens], [zlib.crc32(("d:" + r).encode()) for r in runs]


def number_overlap(new: tuple[list[int], list[int]], old: tuple[list[int], list[int]]) -> tuple[float, float, int, int, int]:
    """What the two messages' numbers share: (Jaccard of the codes, Jaccard of the digit runs, digit runs only the new
    message names, only the old one, both). A resend repeats the amount, the date and the booking code; a new request
    of the same customer often repeats only the account number. No numbers on either side: zeros."""
    (nt, nd), (ot, od) = (set(new[0]), set(new[1])), (set(old[0]), set(old[1]))
    jac = lambda a, b: len(a & b) / len(a | b) if a | b else 0.0  # noqa: E731
    return jac(nt, ot), jac(nd, od), len(nd - od), len(od - nd), len(nd & od)
