"""JSON logs with one request id from the request to the task it starts (real gunicorn, a real
worker), and the request id on every response."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from dashboard.domains.models import SyncRun
from dashboard.logs import JsonFormatter, log_context
from tests.conftest import ALL_DATABASES, Gunicorn, db_worker_batch, process_env, signed_in_session

ROOT = Path(__file__).resolve().parents[2]


def json_lines(text: str) -> list[dict]:
    """Every line of a process's log, each a JSON object (one that is not fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_one_request_id_from_the_request_to_the_task_it_started(lead, synced):
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    server = Gunicorn(workers=2, **env)
    try:
        session = signed_in_session(server.url, lead)
        response = session.post("/domains/sync/", headers={"X-Request-ID": "req-e2e-42"})
        assert response.status_code == 302
        assert response.headers["X-Request-ID"] == "req-e2e-42"
        # an id that is not a safe token (spaces, quotes, too long) is replaced, not echoed
        for unsafe in ('bad id"; drop', "x" * 65, "a/../b"):
            other = session.get("/domains/", headers={"X-Request-ID": unsafe})
            assert re.fullmatch(r"[0-9a-f]{32}", other.headers["X-Request-ID"]), unsafe
    finally:
        server.stop()
    web = json_lines(server.proc.stderr.read().replace("\r", ""))
    access = [line for line in web if line.get("request_id") == "req-e2e-42"]
    assert access and access[0]["logger"] == "dashboard.request"
    assert access[0]["path"] == "/domains/sync/" and access[0]["status"] == 302
    assert access[0]["user_id"] == lead.pk and access[0]["duration_ms"] >= 0
    worker = db_worker_batch(process_env(**env))
    assert SyncRun.objects.get().state == "done"
    task_lines = [line for line in json_lines(worker.stderr) if line.get("request_id")]
    done = [line for line in task_lines if "sync run" in line["message"]]
    assert done and done[0]["request_id"] == "req-e2e-42", task_lines
    assert done[0]["logger"] == "dashboard.domains.tasks" and done[0]["level"] == "INFO"


def test_a_json_line_is_one_line_whatever_the_message_holds():
    formatter = JsonFormatter()
    record = logging.LogRecord(
        "dashboard.x", logging.WARNING, __file__, 1, "bad\r\nnext: %s", ("\x00 日本",), None
    )
    with log_context(request_id="r1", path="/a"):
        from dashboard.logs import ContextFilter

        ContextFilter().filter(record)
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "bad\r\nnext: \x00 日本" and parsed["request_id"] == "r1"
    assert parsed["path"] == "/a" and parsed["level"] == "WARNING"
