"""Micro-batching of classify calls: requests that arrive together share one worker-thread hop.

Classification is CPU work that holds the GIL, so it belongs off the event loop, but one thread hop per
request costs more than a short classification: under load the loop and the worker thread hand the GIL
back and forth for every request. The batcher queues calls and lets at most ``lanes`` worker threads
drain the queue, each taking up to ``max_batch`` queued calls per hop, first in first out. With one
caller at a time it is exactly one hop per request; under load the hops are shared.

Each call's result or exception goes back to its own awaiting request; one failing call never fails
the others in its batch.

Load shedding: the batcher keeps a moving average of the time one call takes. When the calls already
queued would keep a new one waiting longer than ``max_wait_s``, the new call is refused at once with
``Overloaded`` (HTTP 503 with Retry-After) instead of joining a queue its caller would time out in.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio

from service.errors import Overloaded


class Batcher:
    def __init__(self, lanes: int = 1, max_batch: int = 4, max_wait_s: float = 0.0) -> None:  # the settings' defaults
        self.lanes = lanes
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s  # 0: never shed
        self.per_call_s = 0.0  # moving average of one call's time, hop included
        self._queue: deque[tuple[Callable[..., Any], tuple, asyncio.Future]] = deque()
        self._active = 0

    def expected_wait(self) -> float:
        """Seconds a call queued now would wait before its turn, from the queue length and the recent call time."""
        return len(self._queue) * self.per_call_s / self.lanes

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on a worker thread, batched with other calls queued at the same time."""
        if self.max_wait_s and self._queue and (wait := self.expected_wait()) > self.max_wait_s:
            raise Overloaded(f"the service is overloaded: about {wait:.1f} s of classification is queued (limit "
                             f"{self.max_wait_s:g} s); retry later", retry_after=max(1, math.ceil(wait)))
        future = asyncio.get_running_loop().create_future()
        self._queue.append((fn, args, future))
        if self._active < self.lanes:
            self._active += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
                started = time.perf_counter()
                try:
                    outcomes = await anyio.to_thread.run_sync(_call_all, [(fn, args) for fn, args, _ in batch])
                except BaseException as exc:  # cancelled at shutdown: no caller may wait forever
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("classification was cancelled"))
                    raise
                each = (time.perf_counter() - started) / len(batch)
                self.per_call_s = each if not self.per_call_s else 0.8 * self.per_call_s + 0.2 * each
                for (_, _, future), (ok, value) in zip(batch, outcomes):
                    if future.done():  # the client went away
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._active -= 1


def _call_all(calls: list[tuple[Callable[..., Any], tuple]]) -> list[tuple[bool, Any]]:
    out: list[tuple[bool, Any]] = []
    for fn, args in calls:
        try:
            out.append((True, fn(*args)))
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting request, which raises it
            out.append((False, exc))
    return out
