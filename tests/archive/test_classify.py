"""The failure classifier, over the sandbox's seeded texts and texts real receivers give."""

from __future__ import annotations

import pytest
from django.utils import translation

from dashboard.archive.classify import classify
from dashboard.archive.models import failure_name
from dashboard.sandbox.traffic import _FAILURES

CASES = [
    # (description, response, class, http status)
    ("timeout: the callback server did not answer within 5s (5 retries)", "", "timeout", None),
    ("HTTP 404 Not Found", "<html><h1>404 Not Found</h1></html>", "http_4xx", 404),
    ("HTTP 500 Internal Server Error", '{"error":"internal"}', "http_5xx", 500),
    ("connection refused", "", "refused", None),
    ("HTTP 502 Bad Gateway", "<h1>502 Bad Gateway</h1>", "http_5xx", 502),
    ("HTTP 401 Unauthorized", '{"error":"invalid ALI-LIVE-SIGNATURE"}', "signature", 401),
    ("dns resolve failed: no such host hooks.example-shop.com", "", "dns", None),
    ("ssl handshake failed: certificate verify failed", "", "tls", None),
    # variants from HTTP stacks and receivers
    ("Read timed out. (read timeout=5)", "", "timeout", None),
    (
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        "",
        "timeout",
        None,
    ),
    ("回调超时", "", "timeout", None),
    ("dial tcp 10.0.0.1:80: connect: connection refused", "", "refused", None),
    ("[Errno 111] ECONNREFUSED", "", "refused", None),
    ("dial tcp: lookup hooks.example.com: no such host", "", "dns", None),
    ("getaddrinfo ENOTFOUND hooks.example.com", "", "dns", None),
    ("x509: certificate has expired or is not yet valid", "", "tls", None),
    ("SSL: CERTIFICATE_VERIFY_FAILED", "", "tls", None),
    ("status code: 429", "Too Many Requests", "http_4xx", 429),
    ("HTTP/1.1 503 Service Unavailable", "", "http_5xx", 503),
    ("callback failed", "HTTP 403 Forbidden: signature mismatch", "signature", 403),
    ("response code=400", "bad request", "http_4xx", 400),
    ("callback failed", "<html><title>500 Internal Server Error</title></html>", "http_5xx", 500),
    ("unexpected EOF", "", "other", None),
    ("", "", "other", None),
]


@pytest.mark.parametrize(("description", "response", "expected", "status"), CASES)
def test_failure_class(description, response, expected, status):
    assert classify(result="failed", description=description, response=response) == (
        expected,
        status,
    )


def test_every_failure_the_sandbox_seeds_is_classified_as_intended():
    # as sent to the demo's first receiver (a DNS failure names the receiver's host)
    seeded = {d.replace("{host}", "hooks.example-shop.com") for d, _ in _FAILURES}
    covered = {description for description, *_ in CASES}
    assert seeded <= covered, seeded - covered


def test_delivered_records_have_no_failure_class():
    assert classify(result="success", description="success", response="OK") == ("", None)
    assert classify(result="success", description="HTTP 200 OK", response="") == ("", 200)


def test_failure_names_in_the_readers_language():
    assert failure_name("http_4xx", 404) == "HTTP 404" and failure_name("timeout") == "Timeout"
    with translation.override("zh-hans"):
        assert failure_name("timeout") != "Timeout" and failure_name("http_5xx", 502) == "HTTP 502"
    assert failure_name("something-new") == "something-new"


def test_long_texts_are_classified_alike_but_never_kept_in_the_cache():
    from dashboard.archive import classify as module

    page = "<html><h1>502 Bad Gateway</h1>" + "x" * module.CACHED_TEXT_MAX + "</html>"
    module._classify.cache_clear()
    assert classify(result="failed", description="", response=page) == ("http_5xx", 502)
    assert module._classify.cache_info().currsize == 0
    assert classify(result="failed", description="", response="HTTP 502") == ("http_5xx", 502)
    assert module._classify.cache_info().currsize == 1
