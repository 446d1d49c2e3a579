"""CPU pinning of server workers (service.api.affinity), in child processes so the test process stays unpinned."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="needs Linux and 2+ CPUs")

CHILD = textwrap.dedent("""
    import os, sys, threading, time
    from pathlib import Path
    from service.api import affinity
    mode, embedding, hold = sys.argv[2], sys.argv[3] == "1", float(sys.argv[4])
    threading.Thread(target=time.sleep, args=(hold + 1,), daemon=True).start()  # a thread that exists before pinning
    cpu = affinity.apply(mode, Path(sys.argv[1]), embedding)
    threads = {frozenset(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")}
    print(cpu, sorted(len(t) for t in threads), flush=True)
    time.sleep(hold)
""")


def _run(lock_dir, mode: str, embedding: bool = False, hold: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(lock_dir), mode, "1" if embedding else "0", str(hold)],
                            stdout=subprocess.PIPE, text=True)


def test_affinity_workers_claim_different_cpus_and_pin_every_thread(tmp_path):
    first = _run(tmp_path, "auto", hold=3)
    a = first.stdout.readline().split(maxsplit=1)
    second = _run(tmp_path, "auto")
    b = second.stdout.readline().split(maxsplit=1)
    second.wait(), first.wait()
    assert a[0] != "None" and b[0] != "None" and a[0] != b[0]
    assert a[1].strip() == b[1].strip() == "[1]"  # every thread of each process allowed exactly one CPU


def test_affinity_lock_is_released_when_the_worker_exits(tmp_path):
    out = [_run(tmp_path, "on").communicate()[0].split()[0] for _ in range(2)]
    assert out[0] == out[1] != "None"


@pytest.mark.parametrize("mode,embedding", [("off", False), ("auto", True)])
def test_affinity_off_and_embedding_models_stay_unpinned(tmp_path, mode, embedding):
    cpu, widths = _run(tmp_path, mode, embedding).communicate()[0].split(maxsplit=1)
    assert cpu == "None" and min(int(w) for w in widths.strip("[]\n").split(",")) >= 2
