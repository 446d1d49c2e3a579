"""The load benchmark's wrk script: one fixed body, or many bodies in turn, each intact inside Lua long strings."""

from __future__ import annotations

import json
import re

from training.load_bench import wrk_script


def test_load_bench_one_body_is_a_quoted_lua_string():
    body = json.dumps({"text": 'say "hi"', "store": False})
    script = wrk_script([body])
    assert 'wrk.method = "POST"' in script and f"wrk.body = {json.dumps(body)}" in script and "request" not in script


def test_load_bench_varied_bodies_survive_long_brackets():
    bodies = [json.dumps({"text": "a ]=] tricky one", "store": False}), json.dumps({"text": "plain", "store": False})]
    script = wrk_script(bodies)
    level = re.search(r"\[(=+)\[", script).group(1)
    assert level == "==", "the level skips the closing bracket the first body contains"
    found = re.findall(rf"\[{level}\[(.*?)\]{level}\]", script)
    assert [json.loads(b) for b in found] == [json.loads(b) for b in bodies]
    assert "request = function()" in script and "i % #bodies + 1" in script
