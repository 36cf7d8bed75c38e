"""Search by push parameter: the business id a team puts in its push URL (`order_id=…`),
indexed as the harvester stores the callbacks that carry it, found from the header search and
the explorer's filter."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from dashboard.archive.models import ArchivedPushParam, ArchivedRecord
from dashboard.archive.pushparams import push_params
from dashboard.domains.models import Domain
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, archive

INGEST = "push.example-shop.com"


# --- reading them out of a callback (no database) ---------------------------------------------


@pytest.mark.parametrize(
    ("notify_type", "content", "found"),
    [
        (
            "publish",
            '{"action":"publish","usrargs":"order_id=42&team=shop","id":"cam"}',
            [("order_id", "42"), ("team", "shop")],
        ),
        ("publish_done", '{"usrargs":"?a=%E8%AE%A2%E5%8D%95&b="}', [("a", "订单")]),
        (
            "file_created",
            '{"push_args":{"vhost":"x.com","order_id":"7","n":3,"nested":{"a":1}}}',
            [("order_id", "7"), ("n", "3")],
        ),
        (
            "file_created",
            '{"push_args":"order_id=9","callback_shop":"s1"}',
            [("order_id", "9"), ("callback_shop", "s1")],
        ),
        ("file_created", '7月26日 16:14 {"push_args":{"k":"v"}}', [("k", "v")]),  # a text prefix
        ("record_started", '{"usrargs":"order_id=42"}', []),  # carries none
        ("publish", '{"usrargs":"{用户参数}"}', []),  # the documentation's placeholder
        ("publish", '{"usrargs":"auth_key=123-0-0-abc&token=t&x=1"}', [("x", "1")]),  # not business
        ("publish", '{"usrargs":"a=1&a=1&b=%00"}', [("a", "1")]),  # once; no NUL
        ("publish", '{"usrargs":"' + "k" * 65 + "=1&v=" + "x" * 201 + '"}', []),  # too long
        ("publish", "not json", []),
        ("publish", '["usrargs"]', []),
    ],
)
def test_push_params_are_read_from_the_callbacks_that_carry_them(notify_type, content, found):
    assert push_params(notify_type, content) == found


on_the_database = pytest.mark.django_db(databases=ALL_DATABASES)


def a_publish():
    """A publish of the seeded demo (its usrargs carry an order_id) with its order id."""
    publish = ArchivedRecord.objects.filter(
        domain_name=INGEST,
        notify_type="publish",
        notify_time__range=(
            timezone.now() - dt.timedelta(hours=40),
            timezone.now() - dt.timedelta(hours=10),
        ),
    ).first()
    return publish, re.search(r"order_id=\d+", publish.notify_content).group(0)


def a_recorded_publish():
    """A publish of the seeded demo whose recording file the streaming domain's archive holds
    with the same order id in its content (the demo's traffic is random: not every push has
    one, and the first publish found once had none)."""
    publishes = ArchivedRecord.objects.filter(
        domain_name=INGEST,
        notify_type="publish",
        notify_time__range=(
            timezone.now() - dt.timedelta(hours=40),
            timezone.now() - dt.timedelta(hours=10),
        ),
    ).order_by("notify_time")
    for publish in publishes:
        order = re.search(r"order_id=\d+", publish.notify_content).group(0)
        filed = ArchivedRecord.objects.filter(
            domain_name="live.example-shop.com",
            notify_type="file_created",
            app_name=publish.app_name,
            stream_name=publish.stream_name,
            notify_content__contains=order.split("=")[1],
        )
        if filed.exists():
            return publish, order
    raise AssertionError("the demo archived no recorded push 10 to 40 hours old")


@on_the_database
def test_the_harvest_indexes_a_push_on_both_domains_that_tell_it(archived):
    publish, order = a_recorded_publish()
    value = order.split("=")[1]
    hits = ArchivedPushParam.objects.filter(key="order_id", value=value)
    # the ingest domain's publish/publish_done and the streaming domain's recording file
    assert {h.domain.name for h in hits} == {INGEST, "live.example-shop.com"}
    assert {(h.app_name, h.stream_name) for h in hits} == {(publish.app_name, publish.stream_name)}
    ingest = hits.get(domain__name=INGEST)
    assert ingest.first_seen == publish.notify_time <= ingest.last_seen


@on_the_database
def test_a_business_id_typed_in_the_header_opens_its_streams_timeline(client, viewer, archived):
    publish, order = a_publish()
    client.force_login(viewer)
    response = client.get("/search/", {"q": order})
    url = urlsplit(response["Location"])
    assert url.path == f"/records/streams/{publish.app_name}/{publish.stream_name}/"
    # the shortest of the timeline's windows that holds the push (10 to 40 hours old)
    young = timezone.now() - publish.notify_time < dt.timedelta(hours=24)
    assert parse_qs(url.query)["window"] == ["24h" if young else "7d"]
    assert response["Location"].endswith("#focus")
    page = client.get(response["Location"])
    (focused,) = [item["session"] for item in page.context["sessions"] if item["focus"]]
    assert focused.published == publish.notify_time  # on whichever page it is, marked
    assert "publish" in [e.notify_type for e in focused.events]
    assert 'id="focus"' in page.content.decode()


@on_the_database
@pytest.mark.parametrize(
    "at", ["junk", "2026-12-01T10:00:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"]
)
def test_a_timeline_at_a_time_it_cannot_use_is_still_the_timeline(client, viewer, archived, at):
    publish, _order = a_publish()
    client.force_login(viewer)
    url = f"/records/streams/{publish.app_name}/{publish.stream_name}/"
    response = client.get(url, {"at": at})
    assert response.status_code == 200
    marked = [item for item in response.context["sessions"] if item["focus"]]
    assert len(marked) <= 1


@on_the_database
def test_a_parameter_many_streams_carry_lists_their_callbacks_around_it(client, viewer, archived):
    streaming = ArchivedRecord.objects.filter(domain_name=TEAM_DOMAIN).first().domain
    now = timezone.now().replace(microsecond=0)
    for stream, minutes in (("promo-a", 30), ("promo-b", 90)):
        archive(
            streaming,
            ("success", now - dt.timedelta(minutes=minutes)),
            notify_type="file_created",
            stream=stream,
            content='{"push_args":{"campaign":"winter-26"}}',
        )
        # the same stream a day earlier, without the campaign: not shown
        archive(
            streaming,
            ("success", now - dt.timedelta(days=1)),
            notify_type="record_started",
            stream=stream,
        )
        # another team's stream of the same name at the same moment, on a domain no mapping
        # joins to this one: another stream, not shown
        archive(
            Domain.objects.get(name="live.fitclass.cn"),
            ("success", now - dt.timedelta(minutes=minutes)),
            notify_type="file_created",
            stream=stream,
        )
    client.force_login(viewer)
    response = client.get("/search/", {"q": "campaign=winter-26"})
    assert response["Location"] == "/records/?param=campaign%3Dwinter-26&window=90d"
    rows = client.get(response["Location"]).context["rows"]
    assert sorted(r["record"].stream_name for r in rows) == ["promo-a", "promo-b"]


@on_the_database
@pytest.mark.parametrize("typed", ["order_id", "=42", "order id=42", "k=" + "v" * 201])
def test_a_push_parameter_filter_that_is_not_one_is_refused(client, viewer, archived, typed):
    client.force_login(viewer)
    response = client.get("/records/", {"param": typed})
    assert response.status_code == 400
    assert "param" in response.context["form"].errors
