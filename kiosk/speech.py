"""Speech for the accessible mode: the engine interface the screens talk to, and amounts as spoken money.

The kiosk core only knows `SpeechEngine`; the composition root picks the implementation
(`devices.speech.SubprocessSpeech`: espeak-ng by default, or any command such as piper). An engine never
blocks its caller: `say` queues the phrase for a worker thread and returns at once.
"""
from __future__ import annotations

from typing import Protocol


class SpeechEngine(Protocol):
    def say(self, text: str, lang: str, *, interrupt: bool = True, since: float | None = None) -> None:
        """Speaks `text` in `lang`. `interrupt`: the current phrase and everything queued stop first (a new
        screen, a key); otherwise it follows what is queued (a cart read out line by line). `since`: the
        time.monotonic() of the key press that caused it (the phrase log records key -> audio start)."""

    def stop(self) -> None:
        """Silence now: the current phrase stops, the queue is emptied."""

    def change_volume(self, steps: int) -> int:
        """Louder (+) or softer (−) by steps; returns the new volume (0–200, espeak-ng's scale)."""

    def change_rate(self, steps: int) -> int:
        """Faster (+) or slower (−) by steps; returns the new rate in words per minute."""

    def close(self) -> None: ...


class Silent:
    """No speech configured (engine = "none"): the accessible mode still navigates, nothing is heard."""

    def say(self, text: str, lang: str, *, interrupt: bool = True, since: float | None = None) -> None:
        pass

    def stop(self) -> None:
        pass

    def change_volume(self, steps: int) -> int:
        return 0

    def change_rate(self, steps: int) -> int:
        return 0

    def close(self) -> None:
        pass


# Amounts are spoken as "2 euros 38" in the session's voice: espeak-ng reads the digits as number words of
# that voice's language ("zwei Euro achtunddreißig", "twee euro achtendertig"), measured with
# `espeak-ng -x`. The unit words are msgids (translated by the caller's `ngettext`).


def money_words(amount_minor: int, currency: str, ngettext, lang: str) -> str:
    """`amount_minor` (integer minor units) as words to speak, e.g. 238 EUR -> "2 euros 38" (en),
    "2 Euro 38" (de), "2 euro 38" (nl); 38 -> "38 cents"; 200 -> "2 euros". Other currencies: "2.38 USD".
    `ngettext(singular, plural, n, lang)` translates the unit words."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError(f"an amount is integer minor units, got {amount_minor!r}")
    sign = "minus " if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    if currency != "EUR":
        return f"{sign}{whole}.{cents:02d} {currency}"
    if whole == 0:
        return sign + ngettext("{count} cent", "{count} cents", cents, lang).format(count=cents)
    words = ngettext("{count} euro", "{count} euros", whole, lang).format(count=whole)
    return sign + (f"{words} {cents}" if cents else words)
