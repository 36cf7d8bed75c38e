"""The layers hold: views never import the Live client, and the client imports neither Django
nor the sandbox nor the dashboard's apps. Inspects the import statements of the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "dashboard"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(ROOT.parent).with_suffix("").parts[: -node.level]
                base = ".".join([*package, base] if base else package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


VIEW_MODULES = sorted(
    [
        *ROOT.glob("*/views.py"),
        *ROOT.glob("*/context_processors.py"),
        *ROOT.glob("*/templatetags/*.py"),
    ]
)
LIVE_MODULES = sorted(ROOT.glob("live/*.py"))


def test_there_is_something_to_inspect():
    assert len(VIEW_MODULES) >= 4 and len(LIVE_MODULES) >= 4


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_views_never_import_the_live_client(path):
    bad = {
        m
        for m in imported_modules(path)
        if m == "httpx" or m.startswith(("dashboard.live", "dashboard.upstream", "httpx."))
    }
    assert not bad, f"{path.name} imports {sorted(bad)}: go through a selector or service"


@pytest.mark.parametrize("path", LIVE_MODULES, ids=lambda p: p.name)
def test_the_live_client_imports_no_django_no_sandbox_no_apps(path):
    allowed = ("dashboard.live", "dashboard.contract")
    bad = {
        m
        for m in imported_modules(path)
        if m.split(".")[0] == "django" or (m.startswith("dashboard.") and not m.startswith(allowed))
    }
    assert not bad, f"live/{path.name} imports {sorted(bad)}"


def test_the_sandbox_imports_no_dashboard_app():
    allowed = ("dashboard.sandbox", "dashboard.contract")
    for path in ROOT.glob("sandbox/**/*.py"):
        bad = {
            m
            for m in imported_modules(path)
            if m.startswith("dashboard.") and not m.startswith(allowed)
        }
        assert not bad, f"{path} imports {sorted(bad)}"


def test_only_services_write_audit_entries():
    """Views, selectors and forms never create audit entries: services do, through one writer."""
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts or path.name in {"services.py", "models.py"}:
            continue
        text = path.read_text()
        assert "AuditEntry.objects.create" not in text, path
