"""Ids made without a system call (service.core.ids): valid, unique, and not repeated by a forked child."""

from __future__ import annotations

import os
import uuid

import pytest

from service.core.ids import new_hex, new_id


def test_ids_are_valid_version4_uuids_and_unique():
    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids[:1000])
    hexes = {new_hex() for _ in range(10_000)}
    assert len(hexes) == 10_000 and all(len(h) == 32 and int(h, 16) >= 0 for h in hexes)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_ids_forked_child_draws_other_ids():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    assert child and child != new_id()
