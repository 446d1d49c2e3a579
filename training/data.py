"""Dataset rows: reading JSONL/CSV, validating, the fixed train/test split.

A dataset row is {"id", "text", "labels", "lang", "channel", "domain"}; evaluation files need only
"text" and "labels". Problems are collected per row (file:line) rather than raised one by one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from service.core.labels import LABELS
from service.errors import DatasetError

DATASET_FIELDS = ("id", "text", "labels", "lang", "channel", "domain")
CHANNELS = {"email", "chat", "social", "phone_note", "web_form", "sms", "forum", "voice"}
TEST_IDS_FILE = "test_ids.txt"


@dataclass
class Row:
    id: str
    text: str
    labels: list[str]
    lang: str = ""
    channel: str = ""
    domain: str = ""
    source: str = ""


@dataclass
class Problem:
    where: str
    message: str


@dataclass
class Loaded:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def iter_records(path: Path) -> Iterator[tuple[str, dict | None, str | None]]:
    """Yield (where, record, error) for each row of a JSONL or CSV file; bad UTF-8 is an error per row."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".csv":
        text = raw.decode("utf-8-sig", errors="replace")
        for i, rec in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            if "labels" in rec and isinstance(rec["labels"], str):
                rec["labels"] = [x.strip() for x in rec["labels"].replace(";", ",").split(",") if x.strip()]
            yield f"{path.name}:{i}", rec, None
        return
    for i, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{i}"
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield where, None, f"invalid UTF-8 at byte {exc.start}"
            continue
        try:
            rec = json.loads(decoded)
        except json.JSONDecodeError as exc:
            yield where, None, f"not valid JSON ({exc.msg})"
            continue
        if not isinstance(rec, dict):
            yield where, None, "a row must be a JSON object"
            continue
        yield where, rec, None


def validate(rec: dict, *, full: bool) -> str | None:
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        return "'text' must be a non-empty string"
    labels = rec.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return "'labels' must be a list of label names"
    unknown = [x for x in labels if x not in LABELS]
    if unknown:
        return f"unknown labels {unknown}; known: {list(LABELS)}"
    if len(set(labels)) != len(labels):
        return "a label appears twice"
    if full:
        for name in ("id", "lang", "channel", "domain"):
            if not isinstance(rec.get(name), str) or not rec[name].strip():
                return f"'{name}' must be a non-empty string"
        if rec["channel"] not in CHANNELS:
            return f"unknown channel {rec['channel']!r}; known: {sorted(CHANNELS)}"
    return None


def load_rows(paths: list[Path], *, full: bool = True) -> Loaded:
    out = Loaded()
    for path in paths:
        for n, (where, rec, error) in enumerate(iter_records(path)):
            if error is None:
                error = validate(rec, full=full)
            if error is not None:
                out.problems.append(Problem(where, error))
                continue
            out.rows.append(
                Row(
                    id=str(rec.get("id") or f"{path.stem}-{n}"),
                    text=rec["text"],
                    labels=list(rec["labels"]),
                    lang=str(rec.get("lang") or rec.get("language") or ""),
                    channel=str(rec.get("channel") or ""),
                    domain=str(rec.get("domain") or ""),
                    source=path.name,
                )
            )
    return out


def dataset_files(data: Path) -> list[Path]:
    """A folder means every *.jsonl under it (sorted; under messages/ when it has one); a file means itself."""
    if data.is_dir() and (data / "messages").is_dir():
        data = data / "messages"
    if data.is_dir():
        files = sorted(p for p in data.rglob("*.jsonl") if p.is_file())
        if not files:
            raise DatasetError(f"no .jsonl files under {data}")
        return files
    if not data.is_file():
        raise DatasetError(f"{data} does not exist")
    return [data]


def load_dataset(data: Path, *, full: bool = True, strict: bool = True) -> list[Row]:
    loaded = load_rows(dataset_files(data), full=full)
    if strict and loaded.problems:
        shown = "; ".join(f"{p.where}: {p.message}" for p in loaded.problems[:5])
        raise DatasetError(f"{len(loaded.problems)} bad rows in {data} (run `triage data check`): {shown}")
    if not loaded.rows:
        raise DatasetError(f"{data} holds no usable rows")
    return loaded.rows


def sha256_rows(rows: list[Row]) -> str:
    digest = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r.id):
        digest.update(json.dumps([r.id, r.text, sorted(r.labels), r.lang], ensure_ascii=False).encode())
    return digest.hexdigest()


def sha256_files(path: Path) -> str:
    """SHA-256 over the *.jsonl files under ``path`` (or the file itself), in name order."""
    digest = hashlib.sha256()
    for f in sorted(path.glob("*.jsonl")) if path.is_dir() else [path]:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def stratum(row: Row) -> str:
    return f"{row.lang}|{'+'.join(sorted(row.labels)) or 'none'}"


def make_split(rows: list[Row], test_fraction: float = 0.2) -> set[str]:
    """Deterministic stratified split by language x label set: every k-th row of each stratum, ordered by a hash of its id."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(stratum(r), []).append(r)
    step = max(2, round(1 / test_fraction))
    test: set[str] = set()
    for members in groups.values():
        members.sort(key=lambda r: hashlib.sha1(r.id.encode()).hexdigest())
        test.update(r.id for i, r in enumerate(members) if i % step == step // 2)
    return test


def read_test_ids(data_dir: Path) -> set[str] | None:
    path = data_dir / TEST_IDS_FILE
    if not path.is_file():
        return None
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def split_rows(rows: list[Row], data_dir: Path) -> tuple[list[Row], list[Row]]:
    test_ids = read_test_ids(data_dir) if data_dir.is_dir() else None
    if test_ids is None:
        test_ids = make_split(rows)
    return [r for r in rows if r.id not in test_ids], [r for r in rows if r.id in test_ids]
