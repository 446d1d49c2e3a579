"""Identifiers for messages, incidents and requests: random version-4 UUIDs made without a system call.

``uuid.uuid4()`` reads ``os.urandom``, a system call that lets go of the GIL; in a server worker whose
event-loop thread and classifying thread share the GIL, taking it back afterwards meant waiting for the
other thread, and py-spy put ~5 % of a loaded worker's samples there. These ids must be unique, not
secret (every read is scoped by the API key's tenant), so a generator seeded once per process from
``os.urandom`` (and again in a forked child) makes them. API keys still come from ``secrets``.
"""

from __future__ import annotations

import os
import random
import uuid

_rng = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))


def new_id() -> str:
    """A random UUID (version 4) as text, e.g. for a stored message."""
    return str(uuid.UUID(int=_rng.getrandbits(128), version=4))


def new_hex() -> str:
    """128 random bits as 32 hex digits (a request id)."""
    return f"{_rng.getrandbits(128):032x}"
