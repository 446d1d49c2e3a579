"""Text signatures for duplicate detection and outage waves.

A signature is a sparse, L2-normalised vector of hashed features of the message's *content*: the
text after normalisation (quoted replies, signatures, greetings and sign-offs removed, numbers and
URLs masked). Features are character 3-5-grams inside words (robust to typos and inflection) and
word stems (first 5 characters of each word, robust to rewording in the same words). Hashes are
CRC32, so signatures are stable across processes and can be stored. Similarity is the cosine.
"""

from __future__ import annotations

import base64
import math
import re
import zlib
from collections import Counter

import numpy as np

from service.core.normalize import NormalizeOptions, normalize, strip_quoted

MAX_FEATURES = 400
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|bonjour|bonsoir|salut|madame|monsieur|hallo|"
    r"guten (tag|morgen|abend)|sehr geehrte|liebe[rs]?|hola|buen[oa]s|estimad[oa]s?|tere|lugupeetud|здравствуйте|"
    r"добрый (день|вечер)|привет|доброе утро|お世話になっております|こんにちは|お疲れ様です)\b",
    re.I,
)
_ADDRESS = re.compile(r"^[\s,.!:;。、！，]*([^,:!;。、！，?？.]{0,40}?)[,:!;！，]")  # "team," / "Frau Müller:" after a greeting
_CLOSING = re.compile(
    r"^\s*(thanks?|thank you|cheers|regards|best|kind regards|br|merci|cordialement|bien à vous|danke|mfg|"
    r"mit freundlichen grüßen|viele grüße|gracias|saludos|un saludo|atentamente|aitäh|lugupidamisega|спасибо|"
    r"с уважением|よろしくお願いします|よろしくお願いいたします)\b.{0,40}$",
    re.I,
)
_OPTIONS = NormalizeOptions(strip_quotes=True, strip_signatures=True, mask=True)


def content(text: str) -> str:
    return " ".join(content_lines(text)).lower()


def content_lines(text: str) -> list[str]:
    """The lines of the message that carry its content: cleaned and masked, greeting and sign-off removed."""
    lines = normalize(text, _OPTIONS).text.split("\n")
    while lines and (not lines[0].strip() or (m := _GREETING.match(lines[0]))):
        rest = after_greeting(lines[0][m.end():]) if lines[0].strip() else ""
        if rest:
            lines[0] = rest
            break
        lines.pop(0)
    while lines and (not lines[-1].strip() or _CLOSING.match(lines[-1]) or _is_name_line(lines[-1]) and len(lines) > 1):
        lines.pop()
    return lines


def after_greeting(rest: str) -> str:
    """What a greeting line says after the greeting and the people it addresses ("Hola, equipo de soporte:"), when
    that is a sentence: "Hi again, could you reply?" keeps "could you reply?", and a Japanese line that opens with
    お世話になっております keeps its request; a bare salutation ("Madame, Monsieur,") leaves nothing."""
    while (m := _ADDRESS.match(rest)) and len(m.group(1).split()) <= 3 and not has_cjk(m.group(1)):
        rest = rest[m.end():]
    rest = rest.lstrip(" \t,.!:;。、！，")
    words = _WORD.findall(rest)
    enough = sum(len(w) for w in words) >= 6 if has_cjk(rest) else len(words) >= 3
    return rest if enough else ""


def _is_name_line(line: str) -> bool:
    """A trailing sign-off such as "Tom" or "加藤 由美": at most two words and short (a Japanese sentence has no spaces
    between its words, so the word count alone would take it for a name)."""
    return len(line.split()) <= 2 and len(line.strip()) <= 20


def quoted_part(text: str) -> str:
    """The earlier message quoted inside ``text`` (``>`` lines or below a reply header), if any."""
    text = text.replace("\r\n", "\n")
    quoted = [ln.lstrip()[1:].lstrip() for ln in text.split("\n") if ln.lstrip().startswith(">")]
    if quoted:
        return "\n".join(quoted)
    kept, _ = strip_quoted(text)
    rest = text[len(kept):].strip()
    return rest.split("\n", 1)[1] if "\n" in rest else ""


def quoted_signature(text: str) -> dict[int, float]:
    """The signature of the earlier message quoted inside ``text`` (empty when nothing is quoted)."""
    return signature(quoted_part(text)) if ">" in text or "\n" in text else {}


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Japanese or Chinese script (written without spaces between words)."""
    return _CJK.search(text) is not None


def features(text: str) -> Counter[int]:
    feats: Counter[int] = Counter()
    for word in _WORD.findall(text):
        if word.isdigit():
            continue
        cjk = has_cjk(word)
        if not cjk:
            feats[zlib.crc32(("w:" + word[:5]).encode())] += 2
        w = f" {word} " if cjk else f" {word[:30]} "
        for n in (2, 3) if cjk else (3, 4, 5):
            for i in range(len(w) - n + 1):
                feats[zlib.crc32(w[i : i + n].encode())] += 1
    return feats


def signature(text: str) -> dict[int, float]:
    return weigh(features(content(text)))


def weigh(feats: Counter[int]) -> dict[int, float]:
    if not feats:
        return {}
    weighted = {h: 1.0 + math.log(c) for h, c in feats.items()}
    top = sorted(weighted.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FEATURES]
    norm = math.sqrt(sum(v * v for _, v in top))
    return {h: v / norm for h, v in top}


def cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(h, 0.0) for h, v in a.items())


def shared_words(text: str, stored: dict[int, float], top: int = 5) -> list[tuple[str, int, int, float]]:
    """Words of ``text`` (with their character offsets) that a stored message shares, by ``stored``'s word-stem
    features (CJK words: most of their character bigrams), strongest first: what an agent sees as the reason a
    message was matched with an earlier one."""
    found: dict[str, tuple[str, int, int, float]] = {}
    for m in _WORD.finditer(text):
        word = m.group().lower()
        cjk = has_cjk(word)
        if word.isdigit() or len(word) < 2 or (len(word) < 4 and not cjk):
            continue
        if cjk:
            grams = [zlib.crc32(f" {word} "[i : i + 2].encode()) for i in range(len(word) + 1)]
            hits = [stored[h] for h in grams if h in stored]
            weight = sum(hits) / len(grams) if len(hits) * 2 >= len(grams) else 0.0
            key = word
        else:
            key = word[:5]
            weight = stored.get(zlib.crc32(("w:" + key).encode()), 0.0)
        if weight > 0 and key not in found:
            found[key] = (m.group(), m.start(), m.end(), round(float(weight), 4))
    return sorted(found.values(), key=lambda s: (-s[3], s[1] - s[2], s[1]))[:top]  # equal weights: longer words first


def dumps(sig: dict[int, float]) -> str:
    """Compact storable form: "b1:" + base64 of the uint32 hashes then the float16 weights."""
    hashes = np.fromiter(sig.keys(), dtype="<u4", count=len(sig))
    weights = np.fromiter(sig.values(), dtype="<f2", count=len(sig))
    return "b1:" + base64.b64encode(hashes.tobytes() + weights.tobytes()).decode("ascii")


def dumps_with_embedding(sig: dict[int, float], emb: np.ndarray | None, bits: np.ndarray | None = None,
                         nums: tuple[list[int], list[int]] | None = None) -> str:
    """Lexical signature, then its features' sentence bits when given (uint8, in the signature's order) and the
    hashes of the message's numbers (uint32: how many codes, the codes, the digit runs), then, when the model has
    one, the sentence embedding (float16): "b1:...|m1:...|n1:...|e1:..." (``Profile.from_stored`` reads it)."""
    out = dumps(sig)
    if bits is not None:
        out += "|m1:" + base64.b64encode(np.asarray(bits, dtype=np.uint8).tobytes()).decode("ascii")
    if nums is not None:
        out += "|n1:" + base64.b64encode(np.array([len(nums[0]), *nums[0], *nums[1]], dtype="<u4").tobytes()).decode("ascii")
    if emb is not None:
        out += "|e1:" + base64.b64encode(np.asarray(emb, dtype="<f2").tobytes()).decode("ascii")
    return out


def load_embedding(raw: str) -> np.ndarray | None:
    _, sep, emb = raw.partition("|e1:")
    return np.frombuffer(base64.b64decode(emb), dtype="<f2").astype(np.float64) if sep else None


EMBED_THRESHOLD = 0.92  # cosine of e5 embeddings at which evidence equals the lexical threshold (F1-best on resend_train)


def combined(lexical: float, embedding_cos: float | None, lexical_threshold: float, embed_threshold: float = EMBED_THRESHOLD) -> float:
    """One similarity on the lexical scale: e5 cosines crowd near 1, so they are mapped linearly so that
    ``embed_threshold`` lands on ``lexical_threshold`` and 1 stays 1; the stronger of the two evidences wins."""
    if embedding_cos is None:
        return lexical
    mapped = lexical_threshold + (embedding_cos - embed_threshold) * (1 - lexical_threshold) / (1 - embed_threshold)
    return max(lexical, min(1.0, mapped))


def loads(raw: str) -> dict[int, float]:
    raw = raw.split("|", 1)[0]
    if not raw:
        return {}
    if raw.startswith("b1:"):
        data = base64.b64decode(raw[3:])
        n = len(data) // 6
        hashes = np.frombuffer(data[: 4 * n], dtype="<u4")
        weights = np.frombuffer(data[4 * n :], dtype="<f2").astype(np.float64)
        return dict(zip(hashes.tolist(), weights.tolist()))
    out = {}
    for item in raw.split():
        h, _, v = item.partition(":")
        out[int(h, 16)] = float(v)
    return out
