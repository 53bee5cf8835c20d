"""The lane tile says, in words and with an icon, that the lane closes after the customer now at the kiosk."""
from __future__ import annotations

from types import SimpleNamespace

from kiosk.wire import LiveState
from server.console.i18n import Catalogs
from server.console.views import lane_view
from server.live.model import Lane


def render(lane: Lane, lang: str) -> str:
    import jinja2

    from server.console.web import HERE

    tr = Catalogs().get(lang)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    return env.get_template("_lanes.html").render(_=tr.gettext, ngettext=tr.ngettext, lanes=[
        lane_view(lane, tr, lang)], commands=frozenset())


def lane(**fields) -> Lane:
    state = LiveState(boot_id="b", seq=1, sent_at="2026-12-01T23:00:00Z", session_id="s-1", phase="shopping",
                      item_count=1, total_minor=120, **fields)
    return Lane(kiosk_id="lane-1", name="Lane 1", state=state, connected=True, last_seen_at=None,
                status="shopping", status_since=None)


def test_a_pending_close_shows_on_the_tile_in_words_and_an_icon():
    html = render(lane(closing="till count"), "en")
    assert "🔒" in html and "Closes after this customer" in html and "till count" in html
    assert "Schließt nach diesem Kunden" in render(lane(closing="Kasse zählen"), "de")
    assert "Sluit na deze klant" in render(lane(closing=""), "nl")


def test_no_pending_close_no_words():
    assert "🔒" not in render(lane(), "en")
    view = lane_view(SimpleNamespace(**{**vars(lane(closing="x")), "status": "out_of_service"}),
                     Catalogs().get("en"), "en")
    assert view["closing"] is None  # once closed, the tile says out of service instead


def test_a_disabled_kiosk_shows_disabled_in_words_and_an_icon():
    disabled = Lane(kiosk_id="lane-1", name="Lane 1", state=None, connected=False, last_seen_at=None,
                    status="offline", status_since=None, disabled=True)
    html = render(disabled, "de")
    assert "🚫" in html and "Deaktiviert" in html and 'data-status="offline"' in html
