"""3x-ui 3.1+ accounts() reads ``clients/list/paged`` page by page (200 a page, the panel's largest)
instead of ``clients/list`` (every client in one answer): the number of calls, each client once, a
client added or moved between two pages, a failing page; and a usage sync of 450 clients. The 2.x
line still reads its one inbound list (tests/panels/test_adapter_xui.py)."""

import math

import pytest

from panels import services
from panels.adapters import PanelRefused, PanelUnavailable, adapter_for
from tests.fakes.xui import FakeXui
from tests.panels.conftest import PASSWORD
from tests.panels.test_adapter_xui import GB, NEW_LINE, make_panel, panel_calls

PAGED = "/panel/api/clients/list/paged"


@pytest.fixture(params=NEW_LINE)
def fake(request):
    fake = FakeXui(version=request.param)
    fake.inbound_id = fake.add_inbound("vless", remark="main")
    yield fake
    fake.stop()


@pytest.fixture
def adapter(fake):
    with adapter_for(make_panel(fake, inbounds=[fake.inbound_id])) as adapter:
        yield adapter


def seed(fake, count, prefix="user"):
    fake.add_clients(fake.inbound_id, [{"email": f"{prefix}{i:04d}", "totalGB": GB} for i in range(count)])


def pages(fake):
    return [c for c in panel_calls(fake, "/clients/list") if c.server == "panel"]


@pytest.mark.parametrize("count", [450, 400, 1])
def test_accounts_reads_one_paged_call_per_200_clients(fake, adapter, count):
    seed(fake, count)
    fake.set_usage("user0000", up=5, down=6)
    fake.calls.clear()
    names = [a.name for a in adapter.accounts()]
    assert sorted(names) == [f"user{i:04d}" for i in range(count)]  # every client once
    assert all(c.path == PAGED for c in pages(fake))  # never the whole list
    assert [(c.query["page"], c.query["pageSize"]) for c in pages(fake)] == [
        (str(n), "200") for n in range(1, math.ceil(count / 200) + 1)]
    assert len(panel_calls(fake)) <= len(pages(fake)) + 2  # the probe (login, status) and the pages


def test_an_empty_panel_is_one_page(fake, adapter):
    assert list(adapter.accounts()) == []
    assert fake.count_calls(PAGED) == 1


def test_accounts_yields_page_by_page_with_usage(fake, adapter):
    seed(fake, 450)
    fake.set_usage("user0001", up=5, down=6)
    fake.calls.clear()
    it = adapter.accounts()
    first, second = next(it), next(it)
    assert fake.count_calls(PAGED) == 1  # the first page is handed out before the second is asked for
    assert (first.name, second.name, second.used_bytes, second.limit_bytes) == ("user0000", "user0001", 11, GB)
    assert second.subscription_url.startswith(fake.sub_url)
    assert len(list(it)) == 448 and fake.count_calls(PAGED) == 3


def test_a_client_added_between_pages_is_read_once(fake, adapter):
    seed(fake, 450)
    it = adapter.accounts()
    names = [next(it).name]
    fake.add_clients(fake.inbound_id, [{"email": "late"}])  # after page 1 was read
    names += [a.name for a in it]
    assert len(names) == len(set(names)) == 451 and names[-1] == "late"  # the panel's id order: last


def test_a_client_put_before_the_page_read_is_no_duplicate(fake, adapter):
    """A client ordered before what was read shifts page 2 by one: its first client is page 1's last
    (a panel whose order is not the id's; the fake's order is changed to make one). It is skipped."""
    seed(fake, 450)
    it = adapter.accounts()
    names = [next(it).name]
    fake.add_clients(fake.inbound_id, [{"email": "early"}])
    with fake.lock:
        fake._records["early"]["id"] = 0  # the fake pages in record id order
    names += [a.name for a in it]
    assert fake.calls_to(PAGED)[1].query["page"] == "2"
    assert sorted(names) == [f"user{i:04d}" for i in range(450)]  # "early" is read by the next sync


def test_a_client_removed_between_pages_ends_without_error(fake, adapter):
    seed(fake, 450)
    it = adapter.accounts()
    names = [next(it).name]
    with adapter_for(make_panel(fake, inbounds=[fake.inbound_id])) as other:
        other.delete("user0000")
    names += [a.name for a in it]
    # page 2 moved back by one: user0200 was in neither page as asked (the next sync reads it)
    assert len(names) == len(set(names)) == 449 and "user0200" not in names


@pytest.mark.parametrize("kind, error", [("success_false", PanelRefused), ("http500", PanelUnavailable),
                                         ("drop", PanelUnavailable)])
def test_a_failing_page_raises_the_adapters_error(fake, adapter, kind, error):
    seed(fake, 450)
    it = adapter.accounts()
    next(it)
    fake.fail_next(PAGED, kind)
    with pytest.raises(error, match="list/paged"):
        list(it)


@pytest.mark.django_db
def test_a_sync_of_450_clients_reads_three_pages(make_panel):
    fake = FakeXui(version="3.6.0", password=PASSWORD)
    try:
        fake.inbound_id = fake.add_inbound("vless", port=443, remark="main")
        seed(fake, 450)
        panel = make_panel(fake)
        fake.calls.clear()
        result = services.panel_sync(panel_id=panel.pk)
        assert (result.seen, result.error) == (450, "")
        assert [c.query["page"] for c in fake.calls_to(PAGED)] == ["1", "2", "3"]
        assert fake.count_calls("/clients/") == 3  # nothing per client
    finally:
        fake.stop()
