"""The layers hold: views never import the Live client, and the client imports neither Django
nor the sandbox nor the dashboard's apps; only the audit app writes audit entries; apps call
each other's services only through documented entry points; every permission check goes
through the access module. Inspects the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "dashboard"
TEMPLATES = ROOT.parent / "templates"


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


APP_SOURCES = sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)
AUDIT_WRITES = re.compile(
    r"AuditEntry\.objects\.(create|bulk_create|update|get_or_create|update_or_create)\b"
    r"|AuditEntry\(|\.audit_entries\.(create|update)\b"
)


def app_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def test_only_the_audit_app_writes_audit_entries():
    """Every app records what people did through `audit_entry_create`; none writes the rows."""
    writers = [
        str(p.relative_to(ROOT))
        for p in APP_SOURCES
        if app_of(p) != "audit" and AUDIT_WRITES.search(p.read_text())
    ]
    assert not writers, f"{writers} write audit entries: call audit_entry_create"
    assert AUDIT_WRITES.search((ROOT / "audit" / "services.py").read_text())  # the one writer


# What one app may call of another app's services: documented entry points (README, "How it
# is built"). Everything else of an app is reached through its selectors, signals or tasks.
SERVICE_ENTRY_POINTS = {
    "dashboard.audit.services": {"audit_entry_create"},
    "dashboard.receivers.services": {"live_signature_headers", "callback_deliver"},
    # configs as code applies each change through the single save's own path
    "dashboard.domains.services": {"config_save", "config_delete", "ConflictError"},
    # the API's configs endpoints drive config runs as the Configs pages do
    "dashboard.configs.services": {
        "run_create",
        "run_start",
        "run_pause",
        "run_cancel",
        "undo_plan",
        "undo_wanted",
    },
}


@pytest.mark.parametrize("path", APP_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_apps_call_each_others_services_only_through_their_entry_points(path):
    bad = set()
    for module in imported_modules(path):
        parts = module.split(".")
        if len(parts) < 3 or parts[0] != "dashboard" or parts[2] != "services":
            continue
        if parts[1] == app_of(path):
            continue
        services = ".".join(parts[:3])
        name = parts[3] if len(parts) > 3 else None
        if name is None:
            continue  # the `from x.services import` line itself: its names are checked
        if name not in SERVICE_ENTRY_POINTS.get(services, set()):
            bad.add(module)
    assert not bad, f"{sorted(bad)}: not an entry point of another app's services"


PERMISSION_CHECKS = re.compile(r"\.has_perm\(|\.has_perms\(|permission_required|\bperms\.")


def test_every_permission_check_goes_through_the_access_module():
    """Views ask `dashboard.access` (which asks the roles); nothing else tests a permission."""
    allowed = {
        ROOT / "access.py",
        ROOT / "accounts" / "roles.py",
        ROOT / "accounts" / "backends.py",
    }
    checks = [
        str(p.relative_to(ROOT.parent))
        for p in [*APP_SOURCES, *TEMPLATES.rglob("*.html")]
        if p not in allowed and PERMISSION_CHECKS.search(p.read_text())
    ]
    assert not checks, f"{checks} check permissions themselves: use dashboard.access"
