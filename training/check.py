"""`triage data check`: format rules, duplicates, counts per language x label, diversity figures."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from service.core.labels import LABELS
from training.data import Problem, Row, dataset_files, load_rows

NEAR_DUP_JACCARD = 0.8
_WS = re.compile(r"\s+")


@dataclass
class CheckReport:
    rows: int
    problems: list[Problem]
    exact_duplicates: list[tuple[str, str]]
    near_duplicates: list[tuple[str, str, float]]
    counts: dict[str, dict[str, int]]
    diversity: dict[str, float]
    quotas: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.exact_duplicates and not self.near_duplicates

    @property
    def near_duplicate_rate(self) -> float:
        ids = {i for a, b, _ in self.near_duplicates for i in (a, b)}
        return len(ids) / self.rows if self.rows else 0.0


def _key(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


def shingles(text: str, n: int = 5) -> set[str]:
    t = _key(text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def near_duplicates(rows: list[Row], threshold: float = NEAR_DUP_JACCARD) -> list[tuple[str, str, float]]:
    """Pairs with char 5-gram Jaccard above ``threshold``; candidates come from shared rare shingles."""
    sets = [shingles(r.text) for r in rows]
    vocab: dict[str, int] = {}
    ind, ptr = [], [0]
    for s in sets:
        ind.extend(vocab.setdefault(g, len(vocab)) for g in s)
        ptr.append(len(ind))
    X = sparse.csr_matrix((np.ones(len(ind), dtype=np.float32), ind, ptr), shape=(len(rows), len(vocab)))
    df = np.asarray(X.sum(axis=0)).ravel()
    rare = X[:, np.where(df <= 20)[0]]
    shared = (rare @ rare.T).tocoo()
    out = []
    for i, j, v in zip(shared.row, shared.col, shared.data):
        if i >= j or v < 3:
            continue
        a, b = sets[i], sets[j]
        jac = len(a & b) / len(a | b)
        if jac > threshold:
            out.append((rows[i].id, rows[j].id, round(jac, 3)))
    return out


def check_quotas(rows: list[Row], counts: dict[str, dict[str, int]]) -> list[str]:
    notes = []
    for lang, c in counts.items():
        n = c["rows"]
        if n < 50:  # a handful of rows in another language (a Catalan tweet) is not a language slice
            continue
        for lab in LABELS:
            if c.get(lab, 0) < 0.12 * n:
                notes.append(f"{lang}: {lab} covers {c.get(lab, 0) / n:.1%} of rows (< 12%)")
        if c["none"] < 0.15 * n:
            notes.append(f"{lang}: no-label rows {c['none'] / n:.1%} (< 15%)")
        if c["multi"] < 0.10 * n:
            notes.append(f"{lang}: multi-label rows {c['multi'] / n:.1%} (< 10%)")
    return notes


def check(data: Path) -> CheckReport:
    loaded = load_rows(dataset_files(data), full=True)
    rows = loaded.rows
    problems = list(loaded.problems)
    seen_ids: dict[str, str] = {}
    for r in rows:
        if r.id in seen_ids:
            problems.append(Problem(r.source, f"id {r.id!r} also used in {seen_ids[r.id]}"))
        seen_ids.setdefault(r.id, r.source)
    exact = _exact_pairs(rows)
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        c = counts.setdefault(r.lang, Counter())
        c["rows"] += 1
        c["none"] += not r.labels
        c["multi"] += len(r.labels) > 1
        for lab in r.labels:
            c[lab] += 1
    counts = {lang: dict(c) for lang, c in sorted(counts.items())}
    chars = np.array([len(r.text) for r in rows]) if rows else np.zeros(1)
    words = np.array([len(r.text.split()) for r in rows]) if rows else np.zeros(1)
    openings = Counter(" ".join(_key(r.text).split()[:3]) for r in rows)
    diversity = {
        "chars_p5": float(np.percentile(chars, 5)), "chars_p50": float(np.percentile(chars, 50)),
        "chars_p95": float(np.percentile(chars, 95)), "words_min": int(words.min()), "words_max": int(words.max()),
        "rows_300_words_plus": int((words >= 300).sum()),
        "distinct_openings_ratio": round(len(openings) / max(1, len(rows)), 3),
        "most_common_opening_share": round(openings.most_common(1)[0][1] / max(1, len(rows)), 4) if rows else 0.0,
        "channels": len({r.channel for r in rows}), "domains": len({r.domain for r in rows}),
    }
    return CheckReport(len(rows), problems, exact, near_duplicates(rows), counts, diversity, check_quotas(rows, counts))


def dedupe(data: Path) -> list[str]:
    """Remove exact and near duplicates in place, keeping the first row (by file order) of each group."""
    files = dataset_files(data)
    loaded = load_rows(files, full=True)
    drop = {b for _, b in _exact_pairs(loaded.rows)} | {b for _, b, _ in near_duplicates(loaded.rows)}
    for path in files:
        lines = path.read_text().splitlines()
        kept = [x for x in lines if x.strip() and _line_id(x) not in drop]
        if len(kept) != len([x for x in lines if x.strip()]):
            path.write_text("".join(x + "\n" for x in kept))
    return sorted(drop)


def _exact_pairs(rows: list[Row]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    out = []
    for r in rows:
        k = _key(r.text)
        if k in seen:
            out.append((seen[k], r.id))
        else:
            seen[k] = r.id
    return out


def _line_id(line: str) -> str | None:
    import json

    try:
        return json.loads(line).get("id")
    except ValueError:
        return None
