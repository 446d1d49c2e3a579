"""The classify batcher: each caller gets its own answer or error, hops are shared under load, lanes cap the threads."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from service.api.batcher import Batcher


class Recorder:
    def __init__(self) -> None:
        self.threads: set[int] = set()
        self.running = 0
        self.max_running = 0
        self.lock = threading.Lock()

    def work(self, x: int) -> int:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.threads.add(threading.get_ident())
        time.sleep(0.002)
        with self.lock:
            self.running -= 1
        if x == 7:
            raise ValueError("seven is refused")
        return x * x


def test_batcher_each_caller_gets_its_own_result_and_error():
    rec = Recorder()

    async def main():
        batcher = Batcher(lanes=2, max_batch=4)
        return await asyncio.gather(*(batcher.run(rec.work, i) for i in range(20)), return_exceptions=True)

    out = asyncio.run(main())
    assert [o for i, o in enumerate(out) if i != 7] == [i * i for i in range(20) if i != 7]
    assert isinstance(out[7], ValueError) and "seven" in str(out[7])


@pytest.mark.parametrize("lanes", [1, 3])
def test_batcher_lanes_cap_concurrent_threads(lanes):
    rec = Recorder()

    async def main():
        batcher = Batcher(lanes=lanes, max_batch=2)
        await asyncio.gather(*(batcher.run(rec.work, i) for i in range(30) if i != 7))

    asyncio.run(main())
    assert rec.max_running <= lanes
    assert rec.max_running == lanes  # 29 queued calls keep every lane busy


def test_batcher_shares_hops_under_load_and_is_one_hop_alone(monkeypatch):
    import service.api.batcher as mod

    hops: list[int] = []
    real = mod._call_all

    def counting(calls):
        hops.append(len(calls))
        return real(calls)

    monkeypatch.setattr(mod, "_call_all", counting)

    async def main():
        batcher = Batcher(lanes=1, max_batch=4)
        await asyncio.gather(*(batcher.run(lambda v=i: v) for i in range(12)))
        burst = list(hops)
        hops.clear()
        for i in range(3):
            assert await batcher.run(lambda v=i: v + 1) == i + 1
        return burst

    burst = asyncio.run(main())
    assert sum(burst) == 12 and max(burst) == 4 and len(burst) == 3  # 12 queued calls, 4 per hop
    assert hops == [1, 1, 1]  # one caller at a time: one hop each, no waiting for company


def test_batcher_sheds_calls_that_would_wait_too_long():
    """With 20 ms calls and a 50 ms wait limit, a burst of 30 calls: the first ones are served, later ones are refused
    at once with Overloaded (503 + Retry-After), and nothing is refused when the limit is off."""
    from service.errors import Overloaded

    def slow(x: int) -> int:
        time.sleep(0.02)
        return x

    async def burst(max_wait_s: float) -> list:
        batcher = Batcher(lanes=1, max_batch=1, max_wait_s=max_wait_s)
        await batcher.run(slow, -1)  # one call first, so the batcher knows how long a call takes
        return await asyncio.gather(*(batcher.run(slow, i) for i in range(30)), return_exceptions=True)

    shed = asyncio.run(burst(0.05))
    refused = [r for r in shed if isinstance(r, Overloaded)]
    served = [r for r in shed if isinstance(r, int)]
    # the first calls are served in order (how many depends on how long the sleeps really took on a loaded machine)
    assert served[:1] == [0] and served == sorted(served) and len(served) + len(refused) == 30
    assert 20 <= len(refused) <= 29 and all(r.status == 503 and r.retry_after >= 1 for r in refused)
    assert asyncio.run(burst(0.0)) == list(range(30))
