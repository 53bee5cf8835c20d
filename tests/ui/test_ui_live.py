"""What the attendant station's commands show on the kiosk (issue 15): "help is on the way" as a band under
the header on whatever screen the customer is on, in their language (the screen moves down, nothing is
covered: tests/ui/test_ui_text_fit.py); and a lane closed by
staff with the attendant's reason on the out-of-service screen."""
from __future__ import annotations

import pytest

from kiosk.flows import texts

from .test_ui_screens import restore, stage  # noqa: F401  (restore is a fixture)

HEADER_BUTTONS = ("lang_en", "lang_de", "lang_nl", "large_text", "help")


@pytest.mark.parametrize("screen", ["attract", "checkout", "age_check", "payment_failed", "receipt"])
@pytest.mark.parametrize("lang", ["en", "de"])
def test_help_on_the_way_is_shown_on_every_screen_under_the_header(driver, backend, artifacts, restore, screen,
                                                                   lang):
    driver.app.set_language(lang)
    stage(driver, backend, screen)
    session = driver.app.session
    session.help_called, session.help_acknowledged_by = True, "Anna"
    session._changed()
    driver.app.refresh()
    driver.frames(3)
    band = driver.find("help_coming")
    assert driver.visible(band) and band.text == driver.app.translator.gettext(texts.HELP_COMING, lang)
    assert band.text.startswith({"en": "Help is on the way", "de": "Hilfe kommt"}[lang])
    top = band.to_window(band.x, band.top)[1]
    for tag in HEADER_BUTTONS:
        button = driver.find(tag)
        assert top <= button.to_window(button.x, button.y)[1], f"the band covers {tag}"
    driver.screenshot(artifacts / "live" / f"help-coming-{screen}-{lang}.png")
    session.help_called = False  # the call is over (resolved, or the session ended): the band goes
    session._changed()
    driver.app.refresh()
    driver.frames(2)
    assert not driver.has("help_coming")


def test_a_lane_closed_by_staff_says_so_with_the_reason(driver, backend, artifacts, restore):
    session = driver.app.session
    try:
        session.closed_reason = "Floor being cleaned"
        session._go(session._rest_state())
        driver.app.refresh()
        driver.frames(3)
        assert driver.app.sm.current == "out_of_service"
        label = driver.find("closed_reason")
        assert driver.visible(label)
        assert label.text == "This checkout has been closed by staff.\nReason: Floor being cleaned"
        driver.screenshot(artifacts / "live" / "closed-by-staff.png")
    finally:
        session.closed_reason = None
        session._go(session._rest_state())
        driver.app.refresh()
