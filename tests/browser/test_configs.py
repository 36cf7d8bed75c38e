"""A bulk change in Chromium: choose domains and the change, read the plan, apply it and watch
the progress, with a real background worker; then undo it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from dashboard.domains.kinds import RECORD
from dashboard.domains.models import Domain
from tests.browser.conftest import choose, sign_in
from tests.conftest import OTHER_DOMAIN, TEAM_DOMAIN, process_env, start_db_worker

MOVED = "https://hooks.example-shop.com/live/moved-in-bulk"


def test_an_editor_moves_their_domains_receiver_in_bulk_and_undoes_it(watched, live_server, people):
    page = watched
    original = Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url
    worker = start_db_worker(process_env())
    try:
        sign_in(page, live_server, "editor")
        page.goto(f"{live_server.url}/domains/")
        page.click("text=Bulk change")
        # only the editor's own team's domains are offered
        expect(page.locator("#id_domains")).to_contain_text(TEAM_DOMAIN)
        expect(page.locator("#id_domains")).not_to_contain_text(OTHER_DOMAIN)
        page.check(f"#bulk-form label:has-text('{TEAM_DOMAIN}') input")
        # only the chosen change's own field shows
        choose(page, "#id_action", "copy_from", shown=["#id_source"], hidden=["#id_url"])
        choose(page, "#id_action", "sign_new_key", hidden=["#id_source", "#id_url"])
        choose(page, "#id_action", "record_url", shown=["#id_url"], hidden=["#id_source"])
        page.fill("#id_url", MOVED)
        page.click("#bulk-form button.primary")

        expect(page).to_have_url(re.compile(r"/configs/runs/\d+/$"))
        row = page.locator(f"#changes tr[data-domain='{TEAM_DOMAIN}'][data-kind='record']")
        expect(row).to_contain_text("Update")  # the plan arrives by itself (polling)
        expect(row).to_contain_text(MOVED)
        expect(row).to_contain_text(original)
        page.click("#apply")
        expect(page.locator("#run-state")).to_have_text("Done", timeout=20_000)
        expect(page.locator("#outcomes")).to_contain_text("1 applied")
        expect(row).to_contain_text("Applied")
        assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url == MOVED

        page.reload()  # the finished run reads the same after a reload
        expect(page.locator("#run-state")).to_have_text("Done")
        page.click("#undo")
        expect(page.locator("h1")).to_contain_text("Undo of run")
        expect(row).to_contain_text(original)
        undo_url = page.url
        page.go_back()  # the run's page again: no second Undo, a link to the one under way
        expect(page.locator("#undone-by")).to_contain_text("Planned")
        expect(page.locator("#undo")).to_have_count(0)
        page.locator("#undone-by a").click()
        expect(page).to_have_url(undo_url)
        page.click("#apply")
        expect(page.locator("#run-state")).to_have_text("Done", timeout=20_000)
        assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url == original
        page.go_back()
        page.go_forward()
        expect(page.locator("#run-state")).to_have_text("Done")
    finally:
        worker.terminate()
        worker.wait(10)
    assert page.problems == []
