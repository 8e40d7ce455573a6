"""The layer rule: only the store-bound pipelines of ``lanhar_core`` may reach the store.

Models, backends, signal analysis, metrics and the rest are usable without a DuckDB file
(a phone export, a notebook, a benchmark on arrays), so they may import neither ``storage``
nor any module that does. Imports inside functions count: a lazy import is still a
dependency. A module joins ``STORE_BOUND`` only when its job is to read or write the store.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lanhar_core

ROOT = Path(lanhar_core.__file__).resolve().parent

STORE_BOUND = {
    "lanhar_core.cli",
    "lanhar_core.data.ingest",
    "lanhar_core.data.sample",
    "lanhar_core.eval.pipeline",
    "lanhar_core.eval.protocols",
    "lanhar_core.eval.runner",
    "lanhar_core.eval.texts",
    "lanhar_core.eval.zeroshot",
    "lanhar_core.interpret",
    "lanhar_core.models.build_default",
    "lanhar_core.models.choice",
    "lanhar_core.models.loading",
    "lanhar_core.models.train_sensor",
    "lanhar_core.models.train_text",
    "lanhar_core.quality.runs",
    "lanhar_core.sample_interpretations",
    "lanhar_core.tracking",
}
"""Modules (or packages, with everything below them) whose job is to read or write the store."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _bound(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in STORE_BOUND)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_outside_the_store_bound_pipelines_reaches_the_store() -> None:
    violations = []
    modules = sorted(ROOT.rglob("*.py"))
    assert len(modules) > 50
    for path in modules:
        name = _module_name(path)
        if _bound(name):
            continue
        for imported in sorted(_imports(path)):
            if imported.split(".")[0] == "storage" or _bound(imported):
                violations.append(f"{name} imports {imported}")
    assert not violations, "store access outside the store-bound pipelines:\n" + "\n".join(violations)


def test_the_rule_sees_lazy_imports() -> None:
    source = ROOT / "models" / "loading.py"
    assert "storage.runs" in _imports(source) and _bound("lanhar_core.models.loading")
    assert not _bound("lanhar_core.models.stage2") and not _bound("lanhar_core.jobs")
