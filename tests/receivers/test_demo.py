"""The demo receiver of `make run` answers https callback URLs too: six of the seven demo
URLs are https, and every test callback to them failed with "TLS certificate was not
accepted (127.0.0.1)". The sender trusts the demo's own certificate authority for the pinned
demo hosts only."""

from __future__ import annotations

import json

import pytest

from dashboard.receivers.demo import demo_certificates, serve_in_background
from dashboard.receivers.sender import TLS, deliver
from tests.conftest import free_port

HOSTS = ["hooks.example-shop.com", "api.edu-streams.cn"]


@pytest.fixture
def demo(tmp_path, settings):
    ca, cert, key = demo_certificates(tmp_path, HOSTS)
    plain, tls = free_port(), free_port()
    serve_in_background(f"127.0.0.1:{plain}")
    serve_in_background(f"127.0.0.1:{tls}", tls=(cert, key))
    settings.CALLBACK_PINNED_HOSTS = {h: f"127.0.0.1:{plain}" for h in HOSTS}
    settings.CALLBACK_PINNED_TLS_HOSTS = {h: f"127.0.0.1:{tls}" for h in HOSTS}
    settings.CALLBACK_PINNED_CA = str(ca)
    return ca


def send(url):
    return deliver(url=url, body=b"{}", headers=[("Content-Type", "application/json")])


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_demo_receiver_answers_both_schemes(demo, scheme):
    result = send(f"{scheme}://hooks.example-shop.com/live/record")
    assert result.ok, result.message() + result.detail
    assert json.loads(result.body)["Code"] == 0
    assert result.pinned  # the page shows the host configured, not 127.0.0.1


def test_the_demo_authority_is_trusted_for_the_demo_hosts_only(demo, settings):
    # another pinned host on the same receiver: its name is not in the demo certificate
    settings.CALLBACK_PINNED_TLS_HOSTS = {
        "other.example.org": settings.CALLBACK_PINNED_TLS_HOSTS[HOSTS[0]]
    }
    result = send("https://other.example.org/cb")
    assert result.failure == TLS
    assert "The TLS certificate of other.example.org was not accepted" in result.message()
    # and without the demo authority, the demo host's certificate is not trusted either
    settings.CALLBACK_PINNED_TLS_HOSTS = {
        HOSTS[0]: settings.CALLBACK_PINNED_TLS_HOSTS["other.example.org"]
    }
    settings.CALLBACK_PINNED_CA = ""
    assert send(f"https://{HOSTS[0]}/cb").failure == TLS


def test_the_certificates_are_made_once(tmp_path):
    first = [p.read_bytes() for p in demo_certificates(tmp_path, HOSTS)]
    again = [p.read_bytes() for p in demo_certificates(tmp_path, HOSTS)]
    assert first == again
