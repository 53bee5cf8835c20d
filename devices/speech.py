"""Speech output: a text-to-speech command run per phrase on a worker thread, never on the UI thread.

    espeak-ng --stdout -v <voice> -s <rate> -a <volume>  < text      (engine "espeak-ng", the default)
    <command with {voice}>  < text                                     (engine "command", e.g. piper)

The process for the next phrase is started in advance and waits for its text on stdin, so a phrase
does not wait for a process start and voice load.

The command writes a WAV stream on stdout; the worker copies it to the player (`aplay -q`, what the
kiosk hears) and/or a WAV file per phrase (tests). A new phrase or `stop()` ends the current one by
killing its processes, so a key press cuts speech off at once.

Each phrase can be appended to a log (one JSON object a line): the text, language, voice, the
monotonic time the phrase was asked for and when its audio started, i.e. when the first bytes of audio
came out of the TTS command (`audio_start`), and for a phrase caused by a key, `key_to_audio_ms`:
key press -> first audio byte. That is the figure bench/ui.py reports as key_to_speech_start.
"""
from __future__ import annotations

import json
import logging
import queue
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("devices.speech")
VOLUME_RANGE, RATE_RANGE = (0, 200), (80, 450)
CHUNK = 4096


@dataclass(frozen=True)
class Phrase:
    text: str
    lang: str
    asked: float
    since: float | None
    generation: int


class SubprocessSpeech:
    """`voices`: language -> voice name ("en-gb", "de", "nl" for espeak-ng; a model name for a command)."""

    def __init__(self, *, engine: str = "espeak-ng", voices: dict[str, str], rate: int = 170, volume: int = 100,
                 volume_step: int = 20, rate_step: int = 20, player: str = "aplay -q", command: str = "",
                 phrase_log: str = "", wav_dir: str = ""):
        if engine not in ("espeak-ng", "command"):
            raise ValueError(f"speech engine {engine!r}: expected \"espeak-ng\" or \"command\"")
        if engine == "command" and not command.strip():
            raise ValueError('speech engine "command" needs speech.command, e.g. '
                             '"piper --model {voice} --output_file -"')
        self.engine, self.voices, self.command = engine, dict(voices), command
        self.rate, self.volume = rate, volume
        self.volume_step, self.rate_step = volume_step, rate_step
        self.player = shlex.split(player)
        self.phrase_log = Path(phrase_log) if phrase_log else None
        self.wav_dir = Path(wav_dir) if wav_dir else None
        if self.wav_dir:
            self.wav_dir.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._queue: queue.Queue[Phrase | None] = queue.Queue()
        self._generation = 0  # bumped by an interrupting phrase: older queued phrases are dropped
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []
        self._spare: tuple[list[str], subprocess.Popen] | None = None  # the next phrase's TTS process, waiting
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
        self._thread.start()

    # --- the SpeechEngine interface (any thread, never blocks) ------------------------------------------

    def say(self, text: str, lang: str, *, interrupt: bool = True, since: float | None = None) -> None:
        if not text.strip():
            return
        if interrupt:
            self.stop()
        self._queue.put(Phrase(text, lang, time.monotonic(), since, self._generation))

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            procs, self._procs = self._procs, []
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for proc in procs:
            _kill(proc)

    def change_volume(self, steps: int) -> int:
        self.volume = max(VOLUME_RANGE[0], min(VOLUME_RANGE[1], self.volume + steps * self.volume_step))
        return self.volume

    def change_rate(self, steps: int) -> int:
        self.rate = max(RATE_RANGE[0], min(RATE_RANGE[1], self.rate + steps * self.rate_step))
        return self.rate

    def close(self) -> None:
        self.stop()
        self._queue.put(None)
        self._thread.join(5)
        if self._spare is not None:
            _kill(self._spare[1])
            self._spare[1].wait()

    # --- the worker ---------------------------------------------------------------------------------------

    def voice(self, lang: str) -> str:
        return self.voices.get(lang) or self.voices.get(lang.split("_")[0]) or lang

    def argv(self, phrase: Phrase) -> list[str]:
        """The TTS command for the phrase's voice, rate and volume; the text goes to its stdin."""
        voice = self.voice(phrase.lang)
        if self.engine == "espeak-ng":
            return ["espeak-ng", "--stdout", "-v", voice, "-s", str(self.rate), "-a", str(self.volume)]
        return [part.replace("{voice}", voice) for part in shlex.split(self.command)]

    def _start_tts(self, argv: list[str]) -> subprocess.Popen:
        """A TTS process for `argv`: the one started in advance when it matches (it has loaded its voice
        while waiting for text: the phrase starts sooner), else a new one; then the next is started."""
        spare, self._spare = self._spare, None
        if spare is not None and spare[0] == argv and spare[1].poll() is None:
            tts = spare[1]
        else:
            if spare is not None:
                _kill(spare[1])
                spare[1].wait()
            tts = _popen_tts(argv)
        return tts

    def _run(self) -> None:
        while True:
            phrase = self._queue.get()
            if phrase is None:
                return
            try:
                self._speak(phrase)
            except Exception:  # a broken voice or player must not end speech for the rest of the day
                log.exception("speaking %r failed", phrase.text)

    def _speak(self, phrase: Phrase) -> None:
        with self._lock:
            generation = self._generation
            if phrase.generation != generation:
                return  # stopped after it was taken from the queue
            tts = self._start_tts(self.argv(phrase))
            player = subprocess.Popen(self.player, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) if self.player else None
            self._procs = [p for p in (tts, player) if p is not None]
        try:
            tts.stdin.write(phrase.text.encode("utf-8"))
            tts.stdin.close()
        except OSError:
            pass
        self._count += 1
        wav = open(self.wav_dir / f"{self._count:04d}-{phrase.lang}.wav", "wb") if self.wav_dir else None
        audio_start = None
        try:
            while True:
                chunk = tts.stdout.read1(CHUNK)
                if not chunk:
                    break
                if audio_start is None:
                    audio_start = time.monotonic()
                if wav:
                    wav.write(chunk)
                if player is not None:
                    try:
                        player.stdin.write(chunk)
                    except OSError:
                        player = None  # no sound device: the phrase is still logged and written
        finally:
            if wav:
                wav.close()
            if player is not None:
                try:
                    player.stdin.close()
                except OSError:
                    pass
                player.wait()  # the next queued phrase follows this one, not over it
            tts.wait()
        self._log(phrase, audio_start, interrupted=generation != self._generation)
        if self._spare is None:  # after the phrase, not during it: the next one waits ready, in the same voice
            self._spare = (tts.args, _popen_tts(tts.args))

    def _log(self, phrase: Phrase, audio_start: float | None, interrupted: bool) -> None:
        if self.phrase_log is None:
            return
        entry = {"text": phrase.text, "lang": phrase.lang, "voice": self.voice(phrase.lang), "asked": phrase.asked,
                 "audio_start": audio_start, "interrupted": interrupted, "volume": self.volume, "rate": self.rate}
        if phrase.since is not None and audio_start is not None:
            entry["key_to_audio_ms"] = round((audio_start - phrase.since) * 1000, 2)
        with self.phrase_log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _popen_tts(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
