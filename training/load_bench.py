"""`make bench-load`: requests/s and latency of POST /v1/classify against a reference endpoint, with wrk.

Both apps run under uvicorn with the same settings, on loopback, one after the other in the same run,
at 1, 16 and 64 connections with 1 and 2 workers; the ratio classify/reference is what to compare on
a noisy machine. Each cell runs for --seconds (bounded); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BODY = {"text": "Hello, since yesterday evening my internet keeps dropping every few minutes and the router shows a red light. "
                "I pay for 300 Mbps and get nothing. Please fix it today.", "store": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(factory: str, workers: int, env: dict, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    env = {**env, **(extra_env or {})}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.post(f"{base}/v1/classify", json=BODY, timeout=2).status_code == 200:
                for _ in range(50):
                    httpx.post(f"{base}/v1/classify", json=BODY, timeout=5)
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{factory} did not start: {proc.stderr.read().decode()[-2000:]}")


def varied_bodies(n: int) -> list[str]:
    """JSON bodies of ``n`` test-split messages spread over the split (ASCII-escaped): no message repeats within a pass, so
    nothing can answer for a whole message (the per-token caches still fill during the first pass, as in real traffic)."""
    from training.data import load_dataset, split_rows

    data = Path("datasets")
    _, test = split_rows(load_dataset(data), data)
    every = test[:: max(1, len(test) // n)][:n]  # spread over the split: every language, not the first file only
    return [json.dumps({"text": r.text, "store": False}) for r in every]


def wrk_script(bodies: list[str]) -> str:
    """A wrk Lua script posting ``bodies`` in turn (one fixed body when there is only one)."""
    head = 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    if len(bodies) == 1:
        return head + f"wrk.body = {json.dumps(bodies[0])}\n"
    level = "=" * next(k for k in range(1, 20) if not any(f"]{'=' * k}]" in b for b in bodies))
    table = ",\n".join(f"[{level}[{b}]{level}]" for b in bodies)
    return head + f"local bodies = {{\n{table}\n}}\nlocal i = 0\n" + \
        "request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n"


def wrk(base: str, connections: int, seconds: int, script: Path) -> dict:
    out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script),
                          f"{base}/v1/classify"], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = {p: _ms(re.search(rf"\s{p}%\s+([\d.]+\w+)", out).group(1)) for p in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed += sum(int(x) for x in sockets.groups()) if sockets else 0
    # Only answered requests count: a fast 429 or 500 must not pass for throughput.
    return {"rps": round(rps * (total - failed) / max(1, total)), "p50_ms": lat["50"], "p99_ms": lat["99"], "non_2xx": failed}


def _ms(value: str) -> float:
    num, unit = float(re.match(r"[\d.]+", value).group(0)), re.sub(r"[\d.]+", "", value)
    return round(num * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 3)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", default="1,16,64")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--versions", default="", help="comma-separated model versions to serve in turn (default: the current one)")
    ap.add_argument("--varied", type=int, default=0, metavar="N",
                    help="cycle through N different test-split messages instead of sending one message (0: one message)")
    ap.add_argument("--affinity", choices=("auto", "on", "off"), default="auto",
                    help="TRIAGE_CPU_AFFINITY for both apps (auto: each worker pinned to a CPU of its own, except models with an embedding)")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `apt-get install -y wrk` (Debian package), then run again")
    tmp = Path(tempfile.mkdtemp())
    script = tmp / "post.lua"
    script.write_text(wrk_script(varied_bodies(args.varied) if args.varied else [json.dumps(BODY)]))
    env = {**os.environ, "TRIAGE_DATA_DIR": str(tmp / "var"), "TRIAGE_RELOAD_POLL_SECONDS": "0", "TRIAGE_LOG_LEVEL": "WARNING",
           "TRIAGE_RATE_LIMIT_PER_MINUTE": "0",  # the limiter would answer 429s: this measures classification
           "TRIAGE_CPU_AFFINITY": args.affinity}
    rows = []
    for workers in [int(x) for x in args.workers.split(",")]:
        apps = [("reference", "training.reference_app:create_reference_app", {})]
        versions = [v for v in args.versions.split(",") if v] or [""]
        apps += [(f"classify{':' + v if v else ''}", "service.main:app_from_env", {"TRIAGE_MODEL_VERSION": v} if v else {}) for v in versions]
        for name, factory, extra in apps:
            proc, base = start(factory, workers, env, extra)
            try:
                for c in [int(x) for x in args.connections.split(",")]:
                    rows.append({"app": name, "workers": workers, "connections": c, **wrk(base, c, args.seconds, script)})
                    print(json.dumps(rows[-1]), flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"\nCPU affinity: {args.affinity}; bodies: {f'{args.varied} different test-split messages' if args.varied else 'one message'}")
    print(f"\n{'app':>30} {'workers':>7} {'conns':>5} {'reference rps':>13} {'classify rps':>12} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'failed':>6}")
    for r in rows:
        if not r["app"].startswith("classify"):
            continue
        ref = next(x for x in rows if x["app"] == "reference" and x["workers"] == r["workers"] and x["connections"] == r["connections"])
        print(f"{r['app']:>30} {r['workers']:>7} {r['connections']:>5} {ref['rps']:>13} {r['rps']:>12} {r['rps'] / ref['rps']:>6.2f} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['non_2xx']:>6}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
