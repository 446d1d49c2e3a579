"""Compare language-identification methods on our own messages: accuracy (all / 1-4 words) and speed.

Run: python -m training.langid_bench [--data datasets]. Rows whose gold language is outside the
supported set are skipped; Latin-typed Russian/Japanese rows count (they are hard on purpose).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from service.core.langid import METHODS, SUPPORTED, LanguageIdentifier
from training.data import load_dataset


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("datasets/messages"))
    ap.add_argument("--limit", type=int, default=3000)
    args = ap.parse_args(argv)
    rows = [r for r in load_dataset(args.data) if r.lang in SUPPORTED]
    rows = sorted(rows, key=lambda r: r.id)[:: max(1, len(rows) // args.limit)]
    short = [r for r in rows if len(r.text.split()) <= 4]
    print(f"{len(rows)} messages ({len(short)} of 1-4 words), languages {sorted({r.lang for r in rows})}")
    print(f"{'method':>11} {'accuracy':>9} {'short acc':>9} {'us/msg p50':>10} {'load s':>7}")
    for method in METHODS:
        det = LanguageIdentifier(method)
        start = time.perf_counter()
        det.warm()
        det.detect("warm up text")
        load = time.perf_counter() - start
        times, hits = [], 0
        for r in rows:
            t0 = time.perf_counter()
            code = det.detect(r.text).code
            times.append(time.perf_counter() - t0)
            hits += code == r.lang
        short_hits = sum(det.detect(r.text).code == r.lang for r in short)
        print(f"{method:>11} {hits / len(rows):9.3f} {short_hits / max(1, len(short)):9.3f} {statistics.median(times) * 1e6:10.1f} {load:7.2f}")


if __name__ == "__main__":
    main()
