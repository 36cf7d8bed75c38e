"""`make screenshots`: capture the main pages at 1280 px and 390 px into docs/screenshots/.

Runs a throwaway dashboard (its own SQLite files in a temporary folder, the sandbox upstream)
so it never touches var/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PAGES = [
    ("domains", "/domains/"),
    ("domain", "/domains/live.example-shop.com/"),
    ("edit", "/domains/live.example-shop.com/record/edit/"),
    ("ingest", "/domains/push.example-shop.com/"),
    ("stream-edit", "/domains/push.example-shop.com/stream/edit/"),
    ("timeline", "/records/streams/sports/feed-101/?window=24h&domain=live.example-shop.com"),
    ("records", "/records/?stream=Room-10&window=7d&status=failed&size=20"),
    ("missing", "/records/?status=missing&window=7d&size=20"),
    ("record", None),  # the first record of the search above
    ("overview", "/records/overview/"),
    ("audit", "/audit/"),
    ("people", "/people/"),
    ("groups", "/people/groups/"),
    ("configs", "/configs/"),
    ("tokens", "/account/tokens/"),
    ("api-docs", "/api/v1/docs"),
    ("incidents", "/incidents/"),
    ("incident", None),  # the first incident of the list above
    ("search", "/search/?q=studio"),  # the header's search: every domain, the last 24 hours
    ("account", "/account/"),
    ("alert-form", "/alerts/new/"),
]


SECOND_VISIT = {"alerts": "/alerts/", "alert": "/alerts/1/", "redelivery": "/redelivery/1/"}


def shoot_alerts_and_redelivery(page, base, manage, env) -> None:
    """An alert rule that fires (checked once by run_alerts), and a redelivery run."""
    page.goto(base + "/alerts/new/")
    page.fill("#id_name", "Shop callbacks failing")
    page.fill("#id_domain_name", "live.example-shop.com")
    page.fill("#id_threshold_percent", "5")
    page.fill("#id_window_minutes", "60")
    page.fill("#id_min_deliveries", "5")
    page.fill("#id_emails", "shop-oncall@example-shop.com")
    page.fill("#id_webhook_url", "http://hooks.example-shop.com/alerts")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    subprocess.run(
        manage + ["run_alerts"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    page.goto(base + "/alerts/")
    page.screenshot(path=OUT / "alerts-1280.png", full_page=True)
    page.goto(base + "/alerts/1/")
    page.screenshot(path=OUT / "alert-1280.png", full_page=True)
    page.goto(base + "/records/?domain=stream.sportsnow.tv&status=failed&window=6h")
    page.locator("#resend").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / "redelivery-confirm-1280.png", full_page=True)
    page.locator("#confirm button.primary").click()
    page.wait_for_selector("#run-state:text('Done')", timeout=120_000)
    page.screenshot(path=OUT / "redelivery-1280.png", full_page=True)


def shoot_bulk_change(page, base) -> None:
    """A bulk change of two domains' recording callback: its plan, then the applied run."""
    page.goto(base + "/configs/bulk/")
    for name in ("live.example-shop.com", "live.fitclass.cn"):
        page.check(f"#id_domains label:has-text('{name}') input")
    page.select_option("#id_action", "record_url")
    page.fill("#id_url", "https://hooks.example-shop.com/live/record-v3")
    page.click("#bulk-form button.primary")
    page.wait_for_selector("#apply", timeout=30_000)
    page.screenshot(path=OUT / "config-plan-1280.png", full_page=True)
    page.click("#apply")
    page.wait_for_selector("#run-state:text('Done')", timeout=30_000)
    page.screenshot(path=OUT / "config-run-1280.png", full_page=True)


def shoot_sign_in_with_the_directory(browser, base) -> None:
    """Eddie signs in with the company account before any group is mapped (the no-access
    page), so the directory groups page lists the groups seen; the lead maps one later."""
    page = browser.new_page(viewport={"width": 1280, "height": 800}, timezone_id="Asia/Shanghai")
    page.goto(f"{base}/accounts/login/")
    page.click("#sso-sign-in")
    page.screenshot(path=OUT / "sso-provider-1280.png")
    page.fill("#idp-login", "eddie")
    page.fill("#idp-password", "directory-pass-1")
    page.click("#idp-submit")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / "sso-no-role-1280.png")
    page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "lead")
    page.fill("#id_password", "live-demo-pass")
    page.click("main button[type=submit]")
    page.goto(f"{base}/people/groups/")
    page.fill("#id_group", "live-editors")
    page.select_option("#id_role", "Editor")
    page.click("#mapping-form button.primary")
    page.wait_for_load_state("networkidle")
    # Eddie's account, made by that first sign-in: what a lead sees to release its login
    page.goto(f"{base}/people/")
    page.get_by_role("link", name="eddie").first.click()
    page.click("#sso-release summary")
    page.screenshot(path=OUT / "person-release-1280.png", full_page=True)
    page.close()


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-shots-"))
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp / 'dashboard.sqlite3'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp / 'sandbox.sqlite3'}",
        "LIVE_SANDBOX_BIG_DOMAIN_RECORDS": "20000",
        "LIVE_SANDBOX_RATE_SCALE": "0.3",
        # Snapshot updates never get an answer: the "did not answer" state of the editor.
        "LIVE_SANDBOX_FAULTS": "UpdateLiveSnapshotNotifyConfig:drop=1",
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        env["DEMO_RECEIVER_ADDR"] = f"127.0.0.1:{s.getsockname()[1]}"
    manage = [sys.executable, "manage.py"]
    for args in (
        ["migrate", "-v0"],
        ["migrate", "--database", "sandbox", "-v0"],
        ["sandbox_seed"],
        ["sync_domains", "-v0"],
        ["create_demo_users"],
        ["harvest_records", "-v0"],
        ["check_pushes", "-v0"],
    ):
        subprocess.run(manage + args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Single sign-on through the tests' identity provider (tests/idp), so the sign-in page
    # and the directory groups show it.
    sys.path.insert(0, str(ROOT))
    from tests.idp.provider import CALLBACK, IdentityProvider

    idp = IdentityProvider(tmp, f"http://127.0.0.1:{port}{CALLBACK}")
    env.update(idp.settings())
    server = subprocess.Popen(
        manage + ["runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The demo receiver (redeliveries and webhook alerts reach it) and the background worker.
    from dashboard.receivers.demo import serve_in_background

    serve_in_background(env["DEMO_RECEIVER_ADDR"])
    worker = subprocess.Popen(
        manage + ["db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            shoot_sign_in_with_the_directory(browser, base)
            for width in (1280, 390):
                page = browser.new_page(
                    viewport={"width": width, "height": 900}, timezone_id="Asia/Shanghai"
                )
                page.goto(f"{base}/accounts/login/")
                if width == 1280:
                    page.screenshot(path=OUT / f"login-{width}.png")
                page.fill("#id_username", "lead")
                page.fill("#id_password", "live-demo-pass")
                page.click("main button[type=submit]")
                if width == 1280:
                    # One real change, so the history and the audit log have something to show.
                    page.goto(base + "/domains/live.example-shop.com/record/edit/")
                    page.fill("#id_notify_url", "https://hooks.example-shop.com/live/record-v2")
                    page.click("button.primary")
                    page.wait_for_load_state("networkidle")
                for name, path in PAGES:
                    if name == "record":
                        page.locator("table.records time").first.click()
                    elif name == "incident":
                        page.locator("#results tbody a").first.click()
                    else:
                        page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    if name in ("records", "search"):
                        page.locator("table.records details summary").first.click()
                    whole = name not in ("records", "timeline")  # the long ones: their top
                    page.screenshot(path=OUT / f"{name}-{width}.png", full_page=whole)
                    if name == "records":
                        page.goto(base + path)  # the record's page opens from the list
                if width == 1280:
                    shoot_alerts_and_redelivery(page, base, manage, env)
                    shoot_bulk_change(page, base)
                else:
                    for name in ("alerts", "alert", "redelivery"):
                        page.goto(base + SECOND_VISIT[name])
                        page.wait_for_load_state("networkidle")
                        page.screenshot(path=OUT / f"{name}-{width}.png", full_page=True)
                # The trend chart with its config-change marker, alone.
                page.goto(base + "/domains/live.example-shop.com/?period=24h")
                page.wait_for_load_state("networkidle")
                page.locator("#deliveries").screenshot(path=OUT / f"chart-{width}.png")
                if width == 1280:
                    page.goto(base + "/domains/live.example-shop.com/snapshot/edit/")
                    page.fill("#id_notify_url", "https://hooks.example-shop.com/live/snapshot-v2")
                    page.click("button.primary")
                    page.wait_for_selector("[role=alert]")
                    page.screenshot(path=OUT / f"edit-error-{width}.png")
                page.close()
            # A refusal, as an editor of another team meets it.
            page = browser.new_page(viewport={"width": 1280, "height": 700})
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", "editor")
            page.fill("#id_password", "live-demo-pass")
            page.click("main button[type=submit]")
            page.goto(base + "/domains/live.fitclass.cn/record/edit/")
            page.screenshot(path=OUT / "forbidden-1280.png")
            page.close()
            browser.close()
    finally:
        idp.stop()
        server.terminate()
        worker.terminate()
        server.wait(timeout=10)
        worker.wait(timeout=10)
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
