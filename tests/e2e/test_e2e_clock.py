"""Issue 14 on the launched kiosk: the wall clock stepped back and forward. The simulated kiosk's clock is
stepped from outside with the control port's `clock` command (simulation only, see kiosk/clock.py): faketime
is not installed, and stepping the machine's clock would disturb every other process."""
from __future__ import annotations

import datetime as dt
import time

from launched import BREAD, MILK


def _end_of_day_dates(kiosk) -> list[str]:
    return [e for e in (t["record"]["device_time"][:10] for t in kiosk.journal()
                        if t["kind"] == "event" and t["record"]["body"]["event"] == "payment_end_of_day")]


def test_end_of_day_runs_at_most_once_per_business_date_across_clock_steps(launch):
    """Stepping back a day and forward a year triggered the terminal's end of day four times in 90 s."""
    kiosk = launch(KIOSK_DEVICES_PAYMENT_END_OF_DAY_AT="00:00")  # due as soon as a date is not closed yet
    kiosk._wait(lambda: len(_end_of_day_dates(kiosk)) == 1, 30, "today's end of day")
    today = dt.date.fromisoformat(_end_of_day_dates(kiosk)[0])
    assert "offset -86400 s" in kiosk.send("clock -1d")[0]
    kiosk._wait(lambda: len(_end_of_day_dates(kiosk)) == 2, 30, "the end of day of the day before (not closed yet)")
    kiosk.send("clock +365d")  # a year after that day
    kiosk._wait(lambda: len(_end_of_day_dates(kiosk)) == 3, 30, "the end of day a year on")
    kiosk.send("clock real")
    time.sleep(4)  # the schedule is checked every second: today is closed already
    kiosk.send("clock -1d")
    time.sleep(4)  # and so is the day before
    dates = _end_of_day_dates(kiosk)
    assert dates == [str(today), str(today - dt.timedelta(days=1)), str(today + dt.timedelta(days=364))], dates
    kiosk.send("clock real")
    kiosk.terminate()
    kiosk.start()  # a restart after the steps: the closed dates come from the journal, nothing runs again
    time.sleep(4)
    assert _end_of_day_dates(kiosk) == dates


def _sell(kiosk, code: str, receipt: str) -> None:
    kiosk.scan(code)
    kiosk.tap("pay")
    kiosk.wait_screen("receipt", 30)
    kiosk.tap(receipt)
    kiosk.wait_screen("thanks", 20)


def test_a_receipt_printed_with_a_clock_far_off_the_servers_says_its_date_may_be_wrong(launch):
    kiosk = launch()
    _sell(kiosk, MILK, "receipt_print")
    [first] = kiosk.send("receipt 1")
    assert "clock may be wrong" not in first, first
    kiosk.assert_books_agree()

    kiosk.send("clock +1y")  # the kiosk's clock is now a year ahead of the local central server's
    _sell(kiosk, BREAD, "receipt_none")  # synced: the server's reply shows the kiosk how far off it is
    kiosk.assert_books_agree()
    _sell(kiosk, MILK, "receipt_print")
    kiosk._wait(lambda: kiosk.send("receipts")[0].count("\n") >= 1, 20, "the second receipt")
    [second] = kiosk.send("receipt 2")
    next_year = str(dt.date.today().year + 1)
    assert next_year in second, second  # dated by the kiosk's (wrong) clock ...
    assert "clock may be wrong" in " ".join(second.split()), second  # ... and saying so
    kiosk.send("clock real")
