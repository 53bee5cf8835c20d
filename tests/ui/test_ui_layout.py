"""Geometry a customer notices: buttons centred, a lone result not stretched, the cart's scroll bar
beside the Remove buttons, one typeface, and a keyboard that follows the language."""
from __future__ import annotations

import json

import pytest
from kivy.metrics import dp
from kivy.uix.label import Label

from kiosk.flows.actions import Action
from screens import theme
from screens.widgets import KeyButton

from .test_ui_screens import restore, stage  # noqa: F401  (restore is a fixture)
from .test_ui_text_fit import STAGES, shown_root, stage_for_fit


def centre_x(widget) -> float:
    return widget.to_window(*widget.center)[0]


@pytest.fixture
def leave_payment(driver, backend):
    yield
    stage(driver, backend, "attract")  # a staged payment is no real one: the next test need not wait for it


def test_cancel_payment_is_centred_and_decline_buttons_are_symmetric(driver, backend, restore, leave_payment):
    stage(driver, backend, "payment")
    cancel = driver.find("cancel_payment")
    row = cancel.parent
    assert abs(centre_x(cancel) - centre_x(row)) <= 2, (centre_x(cancel), centre_x(row))
    stage(driver, backend, "payment_failed")
    retry, back, help_button = driver.find("retry_payment"), driver.find("payment_back"), driver.find("payment_help")
    assert abs((centre_x(retry) + centre_x(help_button)) / 2 - centre_x(row)) <= 2
    assert abs(centre_x(back) - centre_x(row)) <= 2
    assert abs(retry.width - back.width) <= 2 and abs(back.width - help_button.width) <= 2


def test_a_one_button_message_box_centres_its_button(driver, backend, restore):
    stage(driver, backend, "message")  # a two-button box first: the one after it must not keep its layout
    stage_for_fit(driver, backend, "message_one_button")
    ok = driver.find("message_ok")
    box = ok.parent.parent
    assert not driver.has("message_help")
    assert abs(centre_x(ok) - centre_x(box)) <= 2, (centre_x(ok), centre_x(box))
    assert box.width * 0.3 <= ok.width <= box.width * 0.6
    stage(driver, backend, "message")  # with "Call for help": both, side by side, filling the row
    ok, help_button = driver.find("message_ok"), driver.find("message_help")
    assert abs((centre_x(ok) + centre_x(help_button)) / 2 - centre_x(box)) <= 2


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_a_single_search_result_is_one_grid_cell_wide(driver, backend, restore, large):
    if driver.app.high_contrast != large:
        driver.app.toggle_large_text()
    stage_for_fit(driver, backend, "lookup_one")
    tiles = [w for w in driver.walk() if type(w).__name__ == "ItemTile" and driver.visible(w)]
    assert len(tiles) == 1
    grid = tiles[0].parent  # the RecycleGridLayout
    cell = (grid.width - (grid.cols - 1) * grid.spacing[0]) / grid.cols
    assert tiles[0].width <= cell + 1, f"one result is {tiles[0].width:.0f} px wide, a cell {cell:.0f} px"


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_cart_scroll_bar_is_beside_the_remove_buttons(driver, backend, restore, large):
    if driver.app.high_contrast != large:
        driver.app.toggle_large_text()
    stage_for_fit(driver, backend, "checkout")
    cart = driver.find("cart")
    assert cart.viewport_size[1] > cart.height, "the cart should be long enough to scroll"
    bar_left = cart.to_window(cart.right - cart.bar_width, cart.y)[0]
    removes = [w for w in driver.walk() if getattr(w, "tag", "").startswith("void_") and driver.visible(w)]
    assert removes
    for remove in removes:
        left, right = remove.to_window(remove.x, 0)[0], remove.to_window(remove.right, 0)[0]
        assert right + dp(4) <= bar_left, f"{remove.tag} spans {left:.0f}-{right:.0f}, the bar starts at {bar_left:.0f}"


def test_every_text_uses_the_theme_typeface(driver, backend, restore):
    """Keys, PIN pad, the large-text toggle, stars: one typeface, like the rest (Roboto or Roboto bold)."""
    found = set()
    for large in (False, True):
        if driver.app.high_contrast != large:
            driver.app.toggle_large_text()
        for name in STAGES:
            stage_for_fit(driver, backend, name)
            root = shown_root(driver)
            found |= {f"{name}: {w.text[:20]!r} in {w.font_name}" for w in [root, *driver.walk(root)]
                      if isinstance(w, Label) and w.text and driver.visible(w) and w.font_name != theme.FONT}
    assert found == set()



def test_the_keyboard_follows_the_language_and_types_umlauts(driver, backend, restore):
    stage(driver, backend, "lookup")
    driver.app.act(Action.SEARCH, "")
    def keys() -> list[str]:  # top row first
        found = [w for w in driver.walk() if isinstance(w, KeyButton) and w.target == "search" and driver.visible(w)]
        return [w.key for w in sorted(found, key=lambda w: (-w.to_window(*w.center)[1], w.to_window(*w.center)[0]))]
    english = keys()
    assert "Ä" not in english and english.index("Z") > english.index("A")  # QWERTY: Z on the bottom row
    driver.tap("lang_de")
    german = keys()
    assert {"Ä", "Ö", "Ü", "ß"} <= set(german)
    assert german.index("Z") < german.index("A") and german.index("Y") > german.index("L")  # QWERTZ
    for key in "KÄSE":
        driver.tap(f"key_search_{key}")
    assert driver.app.search_text == "KÄSE"
    assert "Käsescheiben" in [row["name"] for row in driver.app.search_results]
    driver.tap("lang_nl")
    assert "Ä" not in keys() and "Z" in keys()


def test_every_letter_of_the_catalog_can_be_typed_in_its_language():
    items = json.loads((theme.ASSETS / "demo" / "catalog.json").read_text(encoding="utf-8"))
    for lang in ("en", "de", "nl"):
        keys = {key.casefold() for key in theme.keyboard(lang).replace("|", "")}
        letters = {ch.casefold() for item in items for ch in item["names"][lang] if ch.isalpha()}
        assert letters <= keys, f"{lang}: {sorted(letters - keys)} cannot be typed"
