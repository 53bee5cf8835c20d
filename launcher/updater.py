"""`kiosk-update`: brings the kiosk to the release the central server assigns it, safely.

    kiosk-update [--config /etc/kiosk/kiosk.toml]      (kiosk-update.timer, every 15 min)
    kiosk-update --on-start                            (ExecStartPre of kiosk.service, before every start)

A check asks the server for this kiosk's release, refuses it unless the release key signed it, its wheel is the
signed one and its version is newer than the running one (no downgrades, never one rolled back before), installs
it into a new venv beside the current one, switches /opt/kiosk/current, restarts the kiosk and watches the trial.
No READY within --ready-timeout seconds, or --max-starts starts without READY (a crash loop, counted by
--on-start), and the previous release is switched back. READY is not the end of the trial: the release is kept
only once one run of it stayed up --probation seconds after READY (systemd restarts a crashed or frozen one,
and --on-start counts that); --max-starts restarts within the probation roll it back too.
Nothing is switched or restarted while a customer is being served or a payment is open or in doubt: the update
is deferred to the next run. Right before the switch the kiosk is asked to hold new customers
(kiosk/flows/update_hold.py), so none can start between the last look and the restart.
Exit status: 0 done or nothing to do (deferral included), 1 rolled back, 3 refused, 2 usage or configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from kiosk import config
from kiosk.flows import update_hold
from launcher import journal_backup, release_reports
from launcher.release_store import State, Store, UpdateError, check_wheel, newer, now, verify

IDLE_STATES = ("attract", "out_of_service")
REFUSED, ROLLED_BACK = 3, 1


def step(name: str) -> None:
    """Tests only: KUPDATE_TEST_KILL_AT=<step> SIGKILLs this process here, as a power cut would;
    KUPDATE_TEST_SLEEP_AT=<step>:<seconds> pauses here (a slow moment, for a customer to arrive in)."""
    if os.environ.get("KUPDATE_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    at, _, seconds = os.environ.get("KUPDATE_TEST_SLEEP_AT", "").partition(":")
    if at == name:
        time.sleep(float(seconds))


def say(text: str) -> None:
    print(f"kiosk-update: {text}", flush=True)


def end_trial(state: State) -> None:
    state.trial, state.starts, state.ready_at, state.last_ready, state.crashes = None, 0, 0.0, 0.0, 0


class Updater:
    def __init__(self, args: argparse.Namespace, settings: config.Settings) -> None:
        self.args, self.settings = args, settings
        self.store = Store(Path(args.prefix))
        self.data = settings.data_path

    # --- what the kiosk is doing ------------------------------------------------------------------------

    def service_state(self) -> dict | None:
        """The running kiosk's service-state.json (screens/service_notify.py), or None when it is not running."""
        try:
            seen = json.loads((self.data / "service-state.json").read_text())
        except (OSError, ValueError):
            return None
        return seen if Path(f"/proc/{seen.get('pid', 0)}").exists() else None

    def busy(self) -> str | None:
        seen = self.service_state()
        if seen is not None and seen.get("state") not in IDLE_STATES:
            return f"a customer session is open ({seen.get('state')})"
        journal = self.data / "journal.sqlite"
        if journal.exists():
            try:
                with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=10) as conn:
                    open_ = conn.execute("SELECT count(*) FROM payments WHERE status IN ('intent', 'in_doubt')"
                                         ).fetchone()[0]
            except sqlite3.Error as exc:
                return f"the journal cannot be read ({exc})"
            if open_:
                return f"{open_} payment(s) open or in doubt"
        return None

    def hold_customers(self) -> bool:
        """Asks the running kiosk to take no new customer (kiosk/flows/update_hold.py). True once it shows the
        hold, or when there is nothing to hold (not running, or a release from before holds existed)."""
        seen = self.service_state()
        if seen is None or "held" not in seen:
            return True
        hold_id = uuid.uuid4().hex
        update_hold.write_request(self.data, hold_id)
        deadline = time.monotonic() + self.args.hold_timeout
        while time.monotonic() < deadline:
            seen = self.service_state()
            if seen is None or seen.get("held") == hold_id:
                say("the kiosk holds new customers for the switch")
                return True
            time.sleep(0.2)
        update_hold.withdraw(self.data)
        return False

    def ready_run(self, version: str, since: float, alive: bool = True) -> float:
        """When the kiosk's (alive: running) run of `version` reached READY, if after `since`; else 0."""
        if alive:
            seen = self.service_state()
        else:  # --on-start: the run has ended; its last words are still in the file
            try:
                seen = json.loads((self.data / "service-state.json").read_text())
            except (OSError, ValueError):
                seen = None
        if not seen or seen.get("version") != version or seen.get("ready_at", 0) < since:
            return 0.0
        return float(seen["ready_at"])

    # --- the trial --------------------------------------------------------------------------------------

    def commit(self, state: State) -> None:
        say(f"release {state.trial} stayed up {self.args.probation:g} s after READY: it stays")
        release_reports.add(state, state.trial, "kept")
        end_trial(state)
        self.store.save(state)

    def roll_back(self, state: State, why: str) -> None:
        bad = state.trial
        if state.previous is None:
            say(f"release {bad} {why}, and there is no previous release to go back to")
            return
        if not self.journal_allows(state, why):
            return
        state.refused = sorted(set(state.refused) | {bad})
        release_reports.add(state, bad, "rolled_back", f"{why}; rolled back to {state.previous}")
        self.store.save(state)  # decided first: a kill from here on is finished by interrupted()
        self.store.switch(state.previous)
        end_trial(state)
        self.store.save(state)
        say(f"rolled back to {state.previous}: release {bad} {why}")

    def journal_allows(self, state: State, why: str) -> bool:
        """An older release cannot read a journal the trial migrated: the backup goes back (before the next
        start) if nothing was sold since; otherwise the kiosk stays on the trial, out of service."""
        journal, saved = self.data / "journal.sqlite", state.backup
        if not saved or not journal.exists() or journal_backup.schema_of(journal) <= saved["schema"]:
            return True
        sold = journal_backup.sales_since(journal, saved["seq"])
        if sold == 0:
            state.restore = True
            return True
        text = (f"release {state.trial} {why}, but it migrated the journal and {sold} sale(s) were journaled "
                f"since: not rolled back to {state.previous}; a technician must decide")
        journal_backup.raise_intervention(self.data, text)
        release_reports.add(state, state.trial, "intervention", text)
        end_trial(state)
        self.store.save(state)
        say(f"INTERVENTION: {text}")
        return False

    def restore_journal(self, state: State) -> None:
        if state.restore and state.backup:
            journal_backup.restore(state.backup, self.data / "journal.sqlite")
            say(f"journal restored from {state.backup['path']} (schema {state.backup['schema']})")
            state.restore = False
            self.store.save(state)

    def interrupted(self, state: State) -> bool:
        """Finishes what a killed run left: a decided rollback, or a trial whose switch never happened."""
        if state.trial in state.refused:
            self.roll_back(state, "was being rolled back")
            return True
        if self.store.current() != state.trial:
            say(f"the switch to {state.trial} never happened; it is tried again by the next check")
            end_trial(state)
            self.store.save(state)
            return True
        return False

    def on_start(self) -> int:
        try:
            with self.store.lock():
                return self._count_start()
        finally:
            self.restore_journal(self.store.load())  # the kiosk is stopped now: the one safe moment

    def _count_start(self) -> int:
        state = self.store.load()
        if state.trial is None:
            return 0
        if self.interrupted(state):
            return 0
        ready = self.ready_run(state.trial, state.switched_at, alive=False)
        if ready or state.ready_at:
            return self._count_restart(state, ready)
        state.starts += 1
        if state.starts > self.args.max_starts:
            self.roll_back(state, f"did not reach READY in {self.args.max_starts} starts in a row")
        elif now() - state.switched_at > self.args.ready_timeout:
            self.roll_back(state, f"did not reach READY within {self.args.ready_timeout:g} s")
        else:
            self.store.save(state)
            say(f"starting release {state.trial} on trial (start {state.starts} of {self.args.max_starts})")
        return 0

    def _count_restart(self, state: State, ready: float) -> int:
        """The trial reached READY before and is started again: a crash or a watchdog kill on probation, unless
        the run that ended had stayed up the whole probation (systemd restarts at once, so now ~ its end)."""
        if ready and ready != state.last_ready:  # the run that just ended reached READY
            if now() - ready >= self.args.probation:
                self.commit(state)
                return 0
            state.ready_at, state.last_ready = state.ready_at or ready, ready
        state.crashes += 1
        if state.crashes >= self.args.max_starts:
            self.roll_back(state, f"reached READY but restarted {state.crashes} times within its "
                                  f"{self.args.probation:g} s probation")
        else:
            self.store.save(state)
            say(f"release {state.trial} restarted on probation ({state.crashes} of {self.args.max_starts})")
        return 0

    # --- a check ------------------------------------------------------------------------------------------

    def check(self) -> int:
        state = self.store.load()
        if state.trial is not None:
            with self.store.lock():
                finished = self.interrupted(state)
            if not finished:
                self.watch(state.trial)
            state = self.store.load()
            if state.trial is not None:
                say(f"release {state.trial} is still on trial; nothing else now")
                return 0
        reason = self.busy()
        if reason:
            say(f"update deferred: {reason}")
            return 0
        offer = self.fetch_offer()
        if offer is None:
            say("no release is assigned to this kiosk")
            return 0
        info = verify(offer["manifest"], offer["signature"], Path(self.args.key).read_text())
        version, current = info["version"], self.store.current()
        if version in state.refused:
            say(f"release {version} was rolled back here before: refused")
            return REFUSED
        if version == current:
            say(f"up to date ({current})")
            return 0
        if not newer(version, current):
            say(f"release {version} is older than the running {current}: downgrade refused")
            return REFUSED
        wheel = self.download(offer, info)
        step("downloaded")
        say(f"installing release {version} beside {current}")
        self.store.install(version, wheel, self.args.pip_option, on_venv=lambda: step("installing"),
                           shared_site=self.args.shared_site)
        wheel.unlink()
        step("installed")
        reason = self.busy()  # installing takes a while: ask again right before the switch
        if reason:
            say(f"release {version} installed; switching deferred: {reason}")
            return 0
        step("checked")
        # a customer could still start between that look and the restart: the kiosk stops taking new ones first
        if not self.hold_customers():
            say(f"release {version} installed; switching deferred: a customer session started")
            return 0
        try:
            reason = self.busy()
            if reason:
                say(f"release {version} installed; switching deferred: {reason}")
                return 0
            return self.switch_and_watch(state, version, current)
        finally:
            update_hold.withdraw(self.data)

    def switch_and_watch(self, state: State, version: str, current: str | None) -> int:
        switched_at = now()
        saved = journal_backup.backup(self.data / "journal.sqlite", self.data / "backups", version)
        step("backed-up")
        self.store.save(State(trial=version, previous=current, switched_at=switched_at, refused=state.refused,
                              backup=saved, reports=state.reports))
        step("trial-saved")
        self.store.switch(version)
        step("switched")
        say(f"switched to {version}; restarting the kiosk")
        self.restart()
        update_hold.withdraw(self.data)  # the new release starts taking customers as soon as it is up
        step("restarted")
        return self.watch(version)

    def watch(self, version: str) -> int:
        """Until the trial ends: READY within --ready-timeout of the switch, then one run up for --probation.
        --on-start (before each start) may end it first; a crash loop that outlasts this run is left to it."""
        give_up = time.monotonic() + self.args.ready_timeout + self.args.probation * (self.args.max_starts + 1)
        announced = 0.0
        while time.monotonic() < give_up:
            with self.store.lock():
                state = self.store.load()
                if state.trial != version:  # --on-start decided (rolled back or committed), or another run did
                    return 0 if self.store.current() == version else ROLLED_BACK
                ready = self.ready_run(version, state.switched_at)
                if ready and ready != announced:
                    announced = ready
                    say(f"release {version} reached READY; on probation for {self.args.probation:g} s")
                if ready and now() - ready >= self.args.probation:
                    self.commit(state)
                    self.store.prune()
                    return 0
                if not (ready or state.ready_at) and now() - state.switched_at > self.args.ready_timeout:
                    self.roll_back(state, f"did not reach READY within {self.args.ready_timeout:g} s")
                    self.restart()
                    return ROLLED_BACK
            time.sleep(0.2)
        say(f"release {version} has not finished its probation yet; the next check decides")
        return 0

    def restart(self) -> None:
        subprocess.run(shlex.split(self.args.restart_command), check=False, timeout=60)

    # --- the server -----------------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        server = self.settings.server
        return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60)

    def fetch_offer(self) -> dict | None:
        with self._client() as client:
            reply = client.get(f"/v1/kiosks/{self.settings.kiosk.id}/release")
        if reply.status_code == 204:
            return None
        if reply.status_code != 200:
            raise UpdateError(f"the server answered {reply.status_code} for this kiosk's release: {reply.text[:200]}")
        return reply.json()

    def download(self, offer: dict, info: dict) -> Path:
        with self._client() as client:
            reply = client.get(offer["wheel"])
        if reply.status_code != 200:
            raise UpdateError(f"the server answered {reply.status_code} for {info['filename']}")
        check_wheel(info, reply.content)
        folder = Path(tempfile.mkdtemp(prefix="kiosk-update-"))
        path = folder / info["filename"]
        path.write_bytes(reply.content)
        return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kiosk-update", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="kiosk.toml (default: $KIOSK_CONFIG or ./kiosk.toml)")
    p.add_argument("--on-start", action="store_true", help="before each start: count it, roll back a failed trial")
    p.add_argument("--prefix", default="/opt/kiosk", help="where releases/ and current are")
    p.add_argument("--key", default="/etc/kiosk/release-key.pub", help="the release key (public)")
    p.add_argument("--ready-timeout", type=float, default=180, metavar="N", help="seconds a new release has for READY")
    p.add_argument("--max-starts", type=int, default=3, metavar="K",
                   help="starts without READY, or restarts after READY within the probation, before a rollback")
    p.add_argument("--probation", type=float, default=300, metavar="P",
                   help="seconds one run of a new release must stay up after READY before it is kept")
    p.add_argument("--hold-timeout", type=float, default=10, metavar="S",
                   help="seconds the kiosk has to stop taking new customers before the switch is deferred")
    p.add_argument("--restart-command", default="systemctl restart --no-block kiosk.service")
    p.add_argument("--pip-option", action="append", default=[], help="passed to pip install (repeatable)")
    p.add_argument("--shared-site", type=Path, metavar="DIR",
                   help="a site-packages each new release's venv falls back on (its requirements need no download)")
    args = p.parse_args(argv)
    if args.ready_timeout <= 0 or args.max_starts < 1 or args.probation < 0:
        p.error("--ready-timeout must be above 0, --max-starts at least 1 and --probation not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        print(f"kiosk-update: configuration error:\n{exc}", file=sys.stderr)
        return 2
    updater = Updater(args, settings)
    try:
        return updater.on_start() if args.on_start else updater.check()
    except UpdateError as exc:
        say(str(exc))
        return REFUSED
    except (httpx.HTTPError, OSError) as exc:
        say(f"no update now: {type(exc).__name__}: {exc}")
        return 0
    finally:
        if not args.on_start and (said := release_reports.send(updater.store, settings)):  # start: no network
            say(said)


if __name__ == "__main__":
    raise SystemExit(main())
