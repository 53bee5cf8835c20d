"""The speech engine as the kiosk runs it: real espeak-ng processes on the worker thread, each phrase
written to a WAV file and the phrase log; interrupting and the volume/rate keys."""
from __future__ import annotations

import json
import time
import wave

import pytest

from devices.speech import SubprocessSpeech
from kiosk.i18n import Translator
from kiosk.speech import money_words

VOICES = {"en": "en-gb", "de": "de", "nl": "nl"}


def _entries(path, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text().splitlines()
            if len(lines) >= n:
                return [json.loads(line) for line in lines]
        time.sleep(0.02)
    raise AssertionError(f"fewer than {n} phrases logged: {path.read_text() if path.exists() else ''}")


@pytest.fixture
def engine(tmp_path):
    e = SubprocessSpeech(voices=VOICES, player="", phrase_log=str(tmp_path / "phrases.jsonl"),
                         wav_dir=str(tmp_path / "wav"))
    yield e
    e.close()


def test_each_language_is_spoken_in_its_voice_to_a_wav(engine, tmp_path):
    for lang, text in (("en", "Pay"), ("de", "Bezahlen"), ("nl", "Betalen")):
        engine.say(text, lang, interrupt=False, since=time.monotonic())
    entries = _entries(tmp_path / "phrases.jsonl", 3)
    assert [(e["text"], e["voice"]) for e in entries] == [("Pay", "en-gb"), ("Bezahlen", "de"), ("Betalen", "nl")]
    assert all(e["audio_start"] and e["key_to_audio_ms"] > 0 for e in entries)
    wavs = sorted((tmp_path / "wav").glob("*.wav"))
    assert [w.name for w in wavs] == ["0001-en.wav", "0002-de.wav", "0003-nl.wav"]
    for w in wavs:
        with wave.open(str(w)) as f:  # espeak-ng --stdout writes a streaming header: count the bytes instead
            assert f.getframerate() == 22050 and f.getnchannels() == 1
        assert w.stat().st_size > 4000  # a word of audio, not just a header


def test_a_new_phrase_cuts_the_current_one_off(tmp_path):
    # a "player" that never reads: the long phrase's audio fills the pipe and waits, as if being played
    engine = SubprocessSpeech(voices=VOICES, player="sleep 60", phrase_log=str(tmp_path / "p.jsonl"), rate=80)
    try:
        engine.say("This is a very long sentence. " * 40, "en")
        time.sleep(0.5)
        asked = time.monotonic()
        engine.say("Stop", "en")
        long = _entries(tmp_path / "p.jsonl", 1)[0]
        assert long["interrupted"] and long["text"].startswith("This is")
        assert time.monotonic() - asked < 2  # cut off, not played to its end (a minute)
    finally:
        engine.close()


def test_stop_empties_the_queue(engine, tmp_path):
    for n in range(30):
        engine.say(f"line {n}", "en", interrupt=False)
    engine.stop()
    engine.say("after", "en", interrupt=False)
    entries = _entries(tmp_path / "phrases.jsonl", 1)
    time.sleep(0.5)
    entries = _entries(tmp_path / "phrases.jsonl", 1)
    assert entries[-1]["text"] == "after" and len(entries) < 30


def test_volume_and_rate_change_by_steps_within_range(engine):
    assert engine.change_volume(+1) == 120 and engine.change_volume(-10) == 0 and engine.change_volume(+20) == 200
    assert engine.change_rate(+1) == 190 and engine.change_rate(-20) == 80
    assert engine.argv(type("P", (), {"lang": "de", "text": "x"})()) == [
        "espeak-ng", "--stdout", "-v", "de", "-s", "80", "-a", "200"]


def test_a_command_engine_gets_the_voice_and_the_text_on_stdin(tmp_path):
    engine = SubprocessSpeech(engine="command", voices={"de": "de_DE-thorsten"}, player="",
                              command="sh -c 'cat >> " + str(tmp_path / "{voice}.txt") + "; printf RIFF'",
                              phrase_log=str(tmp_path / "p.jsonl"))
    try:
        engine.say("Zwei Euro", "de")
        [entry] = _entries(tmp_path / "p.jsonl", 1)
        assert (tmp_path / "de_DE-thorsten.txt").read_text() == "Zwei Euro" and entry["audio_start"]
    finally:
        engine.close()
    with pytest.raises(ValueError, match="needs speech.command"):
        SubprocessSpeech(engine="command", voices={}, command="")


@pytest.mark.parametrize("amount, lang, words", [
    (238, "en", "2 euros 38"), (238, "de", "2 Euro 38"), (238, "nl", "2 euro 38"), (100, "en", "1 euro"),
    (38, "en", "38 cents"), (1, "de", "1 Cent"), (200, "nl", "2 euro"), (-150, "en", "minus 1 euro 50")])
def test_amounts_are_spoken_as_money_in_the_language(amount, lang, words):
    assert money_words(amount, "EUR", Translator().ngettext, lang) == words


def test_espeak_reads_the_amount_as_number_words_of_the_voice():
    import subprocess
    phonemes = {lang: subprocess.run(["espeak-ng", "-q", "-x", "-v", VOICES[lang], text], capture_output=True,
                                     text=True, check=True).stdout for lang, text in
                (("en", "2 euros 38"), ("de", "2 Euro 38"), ("nl", "2 euro 38"))}
    assert "T'3:ti" in phonemes["en"]  # thirty
    assert "axt" in phonemes["de"] and "dr'aIsIC" in phonemes["de"]  # acht-und-dreißig
    assert "AxtEnd" in phonemes["nl"]  # acht-en-dertig


def test_money_words_refuses_a_float():
    with pytest.raises(TypeError, match="integer minor units"):
        money_words(2.38, "EUR", Translator().ngettext, "en")
