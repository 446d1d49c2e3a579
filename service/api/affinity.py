"""CPU affinity for server workers: each worker process keeps its threads on one CPU of its own.

Classification holds the GIL, so a worker process runs Python on one core at a time anyway. Its event-loop
thread and its classifying thread hand the GIL and each request back and forth, though, and when the kernel
puts them on different cores every hand-off wakes the other core and moves the request and the model's
working set between core caches. On this project's 2-core test machine, one worker serving the fast model
under wrk at 64 connections answered ~1,000-1,100 requests/s unpinned and ~1,550 pinned to one core (the
README has the load figures). A model with a sentence embedding is left unpinned by default: its embedding
engine computes on several threads (accurate model p50 25-28 ms unpinned, 45-47 ms on one core).

Each worker claims a CPU with a lock file per CPU under ``<data dir>/run`` (the lock goes with the process,
even on a crash), so N workers on N cores never share one; a worker that finds every CPU taken stays
unpinned. Modes (``TRIAGE_CPU_AFFINITY``): ``auto`` pins when the served model has no embedding and the
process may use 2 or more CPUs; ``on`` pins whatever the model; ``off`` never pins.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("triage.affinity")

_original: set[int] | None = None  # the CPUs the process was allowed before we pinned it
_held: tuple[int, int] | None = None  # (cpu, lock fd) claimed by this process, kept open for its lifetime


def supported() -> bool:
    return hasattr(os, "sched_setaffinity") and os.path.isdir("/proc/self/task")


def original_cpus() -> set[int]:
    global _original
    if _original is None:
        _original = set(os.sched_getaffinity(0))
    return set(_original)


def claim_cpu(lock_dir: Path) -> int | None:
    """A CPU no other worker using ``lock_dir`` holds (the lowest free one), or None when all are taken."""
    global _held
    if _held is not None:
        return _held[0]
    import fcntl

    lock_dir.mkdir(parents=True, exist_ok=True)
    for cpu in sorted(original_cpus()):
        fd = os.open(lock_dir / f"cpu-{cpu}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held = (cpu, fd)
        return cpu
    return None


def set_process_cpus(cpus: set[int]) -> None:
    """Allow every thread of this process (and so the threads they start later) only ``cpus``."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except (OSError, ValueError):  # a thread that ended meanwhile
            continue


def apply(mode: str, lock_dir: Path, model_has_embedding: bool) -> int | None:
    """Pin this process to a CPU of its own, or leave / put it back unpinned, per ``mode``; the CPU or None."""
    if not supported():
        return None
    want = mode == "on" or (mode == "auto" and not model_has_embedding)
    if want and len(original_cpus()) >= 2:
        cpu = claim_cpu(lock_dir)
        if cpu is not None:
            set_process_cpus({cpu})
            log.info(f"worker pinned to CPU {cpu}", extra={"event": "cpu_affinity"})
            return cpu
    if set(os.sched_getaffinity(0)) != original_cpus():
        set_process_cpus(original_cpus())
    return None
