"""End to end: a real uvicorn process on a free loopback port, called over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(models_dir, tmp_path_factory):
    port = free_port()
    env = {**os.environ, "TRIAGE_MODELS_DIR": str(models_dir), "TRIAGE_DATA_DIR": str(tmp_path_factory.mktemp("var")),
           "TRIAGE_RELOAD_POLL_SECONDS": "0.5"}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read()}")
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("server did not become ready")
    yield base, proc
    if proc.poll() is None:
        proc.kill()


def test_e2e_single_and_batch(server):
    base, _ = server
    r = httpx.post(f"{base}/v1/classify", json={"text": "Mi tarjeta fue rechazada en la tienda otra vez", "customer_id": "x1"})
    assert r.status_code == 200 and r.json()["language"]["code"] == "es"
    b = httpx.post(f"{base}/v1/classify/batch", json={"messages": [{"text": "hello"}, {"text": ""}]})
    assert b.status_code == 200 and b.json()["results"][1]["error"]["code"] == "validation_failed"


def test_e2e_paraphrase_from_same_customer_names_the_first(server):
    base, _ = server
    first = httpx.post(f"{base}/v1/classify", json={"text": "The VPN client disconnects every 10 minutes since the last update.", "customer_id": "cz"}).json()
    second = httpx.post(f"{base}/v1/classify", json={"text": "Hi, the vpn client still disconnects every ten minutes after your last update", "customer_id": "cz"}).json()
    assert second["duplicate_of"]["id"] == first["id"]


def test_e2e_metrics_scrape(server):
    base, _ = server
    text = httpx.get(f"{base}/metrics").text
    assert 'triage_requests_total{method="POST",route="/v1/classify",status="200"}' in text


def test_e2e_graceful_shutdown_finishes_in_flight_requests(server):
    """SIGTERM while a large batch is being classified: the batch still gets its answer, then the process exits."""
    import threading

    base, proc = server
    result = {}
    batch = {"messages": [{"text": f"message number {i}: the router reboots every hour", "store": False} for i in range(600)]}

    def call():
        result["response"] = httpx.post(f"{base}/v1/classify/batch", json=batch, timeout=60)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    worker.join(timeout=60)
    assert result["response"].status_code == 200 and len(result["response"].json()["results"]) == 600
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
