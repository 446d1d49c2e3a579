"""End to end: a real uvicorn process on a free loopback port, called over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(models_dir, tmp_path_factory, workers: int = 1):
    port = free_port()
    models = tmp_path_factory.mktemp("served") / "models"
    shutil.copytree(models_dir, models)
    env = {**os.environ, "TRIAGE_MODELS_DIR": str(models), "TRIAGE_DATA_DIR": str(tmp_path_factory.mktemp("var")),
           "TRIAGE_RELOAD_POLL_SECONDS": "0.5"}
    log_path = tmp_path_factory.mktemp("logs") / "server.log"
    log_file = log_path.open("w")  # a file, not a pipe: an undrained pipe fills up and blocks the server's logging
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=log_file, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("server did not become ready")
    return base, proc, models, log_file


@pytest.fixture(scope="module")
def shipped_fast(tmp_path_factory) -> Path:
    """A models folder holding the newest shipped model without the embedding: end to end means the real product
    (its pair scorer was fitted with a full classifier, unlike the small test model's)."""
    from conftest import ROOT

    from service.core.artifacts import list_versions, read_metadata

    shipped = ROOT / "models"
    fast = [v for v in list_versions(shipped) if not read_metadata(shipped / v).preprocessing.get("embeddings")]
    if not fast:
        pytest.skip("no shipped model without the embedding under models/")
    folder = tmp_path_factory.mktemp("shipped") / "models"
    shutil.copytree(shipped / sorted(fast)[-1], folder / sorted(fast)[-1])
    (folder / "CURRENT").write_text(sorted(fast)[-1] + "\n")
    return folder


@pytest.fixture(scope="module")
def server(shipped_fast, tmp_path_factory):
    base, proc, models, log_file = _start(shipped_fast, tmp_path_factory)
    yield base, proc, models
    if proc.poll() is None:
        proc.kill()
    log_file.close()


@pytest.fixture(scope="module")
def two_workers(models_dir, tmp_path_factory):
    base, proc, models, log_file = _start(models_dir, tmp_path_factory, workers=2)
    yield base, proc, models
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log_file.close()


def test_e2e_single_and_batch(server):
    base, _, _ = server
    r = httpx.post(f"{base}/v1/classify", json={"text": "Mi tarjeta fue rechazada en la tienda otra vez", "customer_id": "x1"})
    assert r.status_code == 200 and r.json()["language"]["code"] == "es"
    b = httpx.post(f"{base}/v1/classify/batch", json={"messages": [{"text": "hello"}, {"text": ""}]})
    assert b.status_code == 200 and b.json()["results"][1]["error"]["code"] == "validation_failed"


def test_e2e_paraphrase_from_same_customer_names_the_first(server):
    base, _, _ = server
    first = httpx.post(f"{base}/v1/classify", json={"text": "The VPN client disconnects every 10 minutes since the last update.", "customer_id": "cz"}).json()
    second = httpx.post(f"{base}/v1/classify", json={"text": "Hi, the vpn client still disconnects every ten minutes after your last update", "customer_id": "cz"}).json()
    assert second["duplicate_of"]["id"] == first["id"]


def test_e2e_metrics_scrape(server):
    base, _, _ = server
    text = httpx.get(f"{base}/metrics", timeout=30).text
    assert 'triage_requests_total{method="POST",route="/v1/classify",status="200"}' in text


def _copy_version(models, new_version: str, tamper: bool = False) -> None:
    old = next(p for p in models.iterdir() if p.is_dir() and not p.name.startswith("."))
    target = models / new_version
    shutil.copytree(old, target)
    meta = json.loads((target / "metadata.json").read_text())
    meta["version"] = new_version
    (target / "metadata.json").write_text(json.dumps(meta))
    if tamper:
        with (target / "model.joblib").open("ab") as fh:
            fh.write(b"x")
    (models / "CURRENT").write_text(new_version + "\n")


def _hammer(base: str, stop: threading.Event, results: list) -> None:
    with httpx.Client(timeout=30) as c:
        while not stop.is_set():
            r = c.post(f"{base}/v1/classify", json={"text": "the router keeps rebooting", "store": False})
            results.append((r.status_code, r.json().get("model_version")))
            time.sleep(0.01)


@contextlib.contextmanager
def _under_load(base: str, threads: int = 4):
    """Four clients posting messages until the block ends; yields their (status, model version) answers."""
    stop, results = threading.Event(), []
    workers = [threading.Thread(target=_hammer, args=(base, stop, results)) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield results
    finally:
        stop.set()
        for w in workers:
            w.join()


def test_e2e_hot_reload_drops_no_request_and_refuses_tampered_models(server):
    base, _, models = server
    with _under_load(base) as results:
        time.sleep(1.0)
        _copy_version(models, "reloaded-v2")
        deadline = time.time() + 30
        while time.time() < deadline and httpx.get(f"{base}/v1/model", timeout=30).json()["version"] != "reloaded-v2":
            time.sleep(0.2)
        assert httpx.get(f"{base}/v1/model", timeout=30).json()["version"] == "reloaded-v2"
        time.sleep(0.5)
        _copy_version(models, "tampered-v3", tamper=True)
        time.sleep(3)
    assert results and all(code == 200 for code, _ in results)
    assert {v for _, v in results} >= {"reloaded-v2"}
    assert httpx.get(f"{base}/v1/model", timeout=30).json()["version"] == "reloaded-v2"  # the tampered one was refused
    assert httpx.get(f"{base}/readyz", timeout=30).json()["model_error"]
    assert 'triage_model_reloads_total{result="refused"}' in httpx.get(f"{base}/metrics", timeout=30).text


def test_e2e_graceful_shutdown_finishes_in_flight_requests(server):
    """SIGTERM while a batch is being classified: the batch still gets its answer (within TRIAGE_SHUTDOWN_GRACE_SECONDS), then the process exits."""
    import threading

    base, proc, _ = server
    result = {}
    batch = {"messages": [{"text": f"message number {i}: the router reboots every hour", "store": False} for i in range(150)]}

    def call():
        result["response"] = httpx.post(f"{base}/v1/classify/batch", json=batch, timeout=60)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    worker.join(timeout=60)
    assert result["response"].status_code == 200 and len(result["response"].json()["results"]) == 150
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_e2e_two_workers_share_metrics_and_all_pick_up_a_promoted_model(two_workers):
    """With two worker processes, /metrics adds up both workers' counts whichever worker answers, and a promoted
    model reaches every worker under load without a failed request."""
    base, _, models = two_workers
    deadline, pids = time.time() + 60, set()
    while time.time() < deadline and len(pids) < 2:  # the second worker may still be loading its model
        text = httpx.get(f"{base}/metrics", timeout=30).text
        pids = {line.split('pid="')[1].split('"')[0] for line in text.splitlines() if line.startswith("triage_model_info{")}
        time.sleep(0.2)
    assert len(pids) == 2, "both workers report their model"
    for _ in range(40):  # a new connection each time, so both workers answer some
        assert httpx.post(f"{base}/v1/classify", json={"text": "my invoice is wrong", "store": False}, timeout=30).status_code == 200
    for _ in range(4):
        assert _sample(httpx.get(f"{base}/metrics", timeout=30).text, "triage_requests_total", route="/v1/classify", status="200") == 40

    with _under_load(base) as results:
        time.sleep(0.5)
        _copy_version(models, "promoted-v2")
        deadline, streak = time.time() + 30, 0
        while time.time() < deadline and streak < 20:  # 20 answers in a row from the new model: both workers switched
            streak = streak + 1 if httpx.get(f"{base}/v1/model", timeout=30).json()["version"] == "promoted-v2" else 0
        assert streak >= 20
    assert results and all(code == 200 for code, _ in results)
    text = httpx.get(f"{base}/metrics", timeout=30).text
    assert _sample(text, "triage_model_info", version="promoted-v2") == 2


def _allowed_cpus(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return ""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2
                    or not os.path.exists(f"/proc/self/task/{os.getpid()}/children"),
                    reason="needs Linux with /proc/<pid>/task/<tid>/children and 2+ CPUs")
def test_e2e_two_workers_are_pinned_to_different_cpus(two_workers):
    """The served test model has no sentence embedding, so by default each worker keeps its threads on a CPU of its
    own (service.api.affinity): two workers on two different CPUs, every thread of a worker on its CPU."""
    base, proc, _ = two_workers
    assert httpx.post(f"{base}/v1/classify", json={"text": "hello", "store": False}, timeout=30).status_code == 200
    deadline, workers, cpus = time.time() + 30, [], []
    while time.time() < deadline:
        workers = [w for w in _children_tree(proc.pid) if "spawn_main" in Path(f"/proc/{w}/cmdline").read_text()]
        cpus = [_allowed_cpus(w) for w in workers]
        if len(workers) == 2 and all(c.isdigit() for c in cpus):
            break
        time.sleep(0.3)
    assert len(workers) == 2 and all(c.isdigit() for c in cpus), cpus
    assert cpus[0] != cpus[1]
    for w, cpu in zip(workers, cpus):
        threads = [int(t) for t in os.listdir(f"/proc/{w}/task")]
        assert {os.sched_getaffinity(t).pop() for t in threads} == {int(cpu)} and all(len(os.sched_getaffinity(t)) == 1 for t in threads)


def _children_tree(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
            out.append(int(child))
            out.extend(_children_tree(int(child)))
    return out
