"""The dependency rule: the core imports no web framework and never training; serving never imports training."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = ("fastapi", "starlette", "uvicorn", "training", "service.api", "service.store", "service.main")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_architecture_core_imports_no_web_framework_or_training():
    bad = {}
    for path in (ROOT / "service" / "core").glob("*.py"):
        hits = [m for m in imports_of(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CORE)]
        if hits:
            bad[path.name] = hits
    assert bad == {}


def test_architecture_serving_never_imports_training():
    code = "import sys, service.main as m; m.create_app; print(sorted(k for k in sys.modules if k == 'training' or k.startswith('training.')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_architecture_every_module_has_a_docstring():
    missing = [str(p.relative_to(ROOT)) for base in ("service", "training") for p in (ROOT / base).rglob("*.py")
               if "migrations" not in p.parts and p.stat().st_size and ast.get_docstring(ast.parse(p.read_text())) is None]
    assert missing == []
