"""The maintenance view-model's page actions, as mixins of `MaintenanceModel` (screens/maintenance/model.py):
the Devices, Config and System pages. They use the model's properties and plumbing (`_do`, `_background`,
`_say`, `backend`, `journal`, `settings`, `app`)."""
from __future__ import annotations

import logging
import time

from kiosk import config
from kiosk.journal_faults import JournalDamaged, advice, check_file
from kiosk.maintenance import system
from kiosk.maintenance.audit import ChainCheck
from kiosk.maintenance.config_edit import NotEditable, effective, toml_value
from kiosk.maintenance.device_ops import reconnect, switch_to_simulator, test_print

log = logging.getLogger("screens.maintenance")
EXTERNAL_CHECK = {"printer": "Test print", "scanner": "Scan test", "camera": "Camera test",
                  "payment": "Diagnosis"}


LANG = "en"  # the maintenance screen's language; its counts still take their plural form from the catalog


def counted(translator, singular: str, plural: str, n: int, **values) -> str:
    """"1 item" / "2 items" through gettext's plural forms ({count} is n)."""
    return translator.ngettext(singular, plural, n, LANG).format(count=n, **values)


def ago(at: float | None) -> str:
    if not at:
        return "never"
    seconds = max(0, int(time.time() - at))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


class DevicesPageModel:
    # --- Devices ----------------------------------------------------------------------------------

    def _refresh_devices(self) -> None:
        rows = []
        for name, device in self.backend.devices.devices.items():
            snap = device.snapshot()
            paper = getattr(getattr(device, "status", None), "paper", None)
            counters = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(snap["statistics"].items()))
            check = self._checks.get(name, "")
            rows.append({"name": name, "kind": snap["kind"], "state": snap["state"], "state_text": snap["state"].upper(),
                         "check_failed": check.startswith("FAILED"),
                         "error": snap["last_error"] or ("paper " + paper.replace("_", " ") if paper and paper != "ok"
                                                         else ""),
                         "counters": counters or "no counters yet", "last_event": ago(self._last_event.get(name)),
                         "check": check, "external": EXTERNAL_CHECK.get(snap["kind"], "Test"),
                         "simulated": name in self.backend.devices.simulators})
        self.devices = rows

    def check(self, name: str, level: str = "internal") -> None:
        if not self._do("health_check" if level == "internal" else "test_device", device=name, level=level):
            return
        device = self.backend.devices.get(name)
        if level == "external" and device.kind == "camera":
            self.preview_device = name  # the camera test is its live picture with what it decodes
        self._checks[name] = "checking..."
        self._refresh_devices()

        def done(result, error):
            ok, text = result if error is None else (False, str(error))
            if level == "external" and name == "scanner" and ok:
                text = "scan any code now: it is shown below"
            self._checks[name] = ("OK: " if ok else "FAILED: ") + text
            self._refresh_devices()
        if level == "external" and device.kind == "printer":
            self._background(lambda: test_print(device, self.settings.kiosk.id), done)
        else:
            self._background(lambda: device.health_check(level), done)

    def close_preview(self) -> None:
        self.preview_device = ""

    def reconnect(self, name: str) -> None:
        if self._do("reconnect", device=name):
            self._checks[name] = "reconnecting..."
            self._background(lambda: reconnect(self.backend.devices, name),
                             lambda _r, e: self._device_done(name, "reconnected", e))

    def use_simulator(self, name: str) -> None:
        if self._do("switch_simulator", device=name):
            section = getattr(self.settings.devices, name)
            self._checks[name] = "switching to the simulator..."
            self._background(lambda: switch_to_simulator(self.backend.devices, section, name, self.journal),
                             lambda _r, e: self._device_done(name, "now on its simulator", e))

    def end_of_day(self) -> None:
        terminal = self.backend.devices.get("payment")
        if terminal is None or not self._do("end_of_day"):
            return
        self._checks["payment"] = "end of day running..."
        self._background(lambda: terminal.end_of_day().result(timeout=300),
                         lambda r, e: self._device_done("payment", "end of day done: " + ", ".join(
                             f"{k.replace('_', ' ')} {v}" for k, v in (r or {}).items()), e))

    def _device_done(self, name: str, text: str, error: BaseException | None) -> None:
        self._checks[name] = f"FAILED: {error}" if error else text
        self._refresh_devices()


class ConfigPageModel:
    # --- Config -----------------------------------------------------------------------------------

    def _refresh_config(self) -> None:
        devices = self.backend.devices
        in_use = {snap["name"]: ("simulator on " if snap["name"] in devices.simulators else "") + snap["endpoint"]
                  for snap in devices.snapshot() if snap.get("endpoint")}
        rows = [{"key": k, "value": v, "editable": e}
                for k, v, e in effective(self.settings, self.editor.editable, in_use)]
        self.config_rows = [r for r in rows if r["editable"]] + [r for r in rows if not r["editable"]]

    def start_edit(self, key: str) -> None:
        if key in self.editor.editable:
            try:
                current = self.editor.load()
                value = current
                for part in key.split("."):
                    value = getattr(value, part)
                self.edit_text = str(value) if isinstance(value, str) else toml_value(value)
            except config.ConfigError:
                self.edit_text = ""
            self.edit_key, self.edit_message = key, ""

    def edit_input(self, key: str) -> None:
        self.touched()
        if key == "⌫":
            self.edit_text = self.edit_text[:-1]
        elif key == "clear":
            self.edit_text = ""
        elif key == "space":
            self.edit_text += " "
        else:
            self.edit_text += key

    def save_edit(self) -> None:
        key, text = self.edit_key, self.edit_text
        if not key or not self._access().may("edit_config"):
            self._do("edit_config", key=key)
            return
        try:
            edit = self.editor.set(key, text)
        except (config.ConfigError, NotEditable, OSError) as exc:
            self.edit_message = str(exc) if not isinstance(exc, OSError) else f"cannot write the file: {exc}"
            self._do("edit_config_refused", key=key, value=text[:100], reason=str(exc)[:200])
            return
        self._do("edit_config", key=key, old=toml_value(edit.old), new=toml_value(edit.new))
        self.edit_key = ""
        self._say(f"{key} = {toml_value(edit.new)} saved; it takes effect when the app restarts"
                  + (f" ({edit.note})" if edit.note else ""))

    def cancel_edit(self) -> None:
        self.edit_key, self.edit_message = "", ""


class SystemPageModel:
    # --- System -----------------------------------------------------------------------------------
    journal_checked = ""  # the Journal row after the full check, until the maintenance screen is left

    def _refresh_system(self) -> None:
        i = system.info(self.settings.data_path)
        self.system_rows = [
            ("Version", f"{i['version']} (Python {i['python']})"), ("Kiosk", f"{self.settings.kiosk.id} on {i['host']}"),
            ("App running for", system.human_duration(i["app_uptime_s"])),
            ("System up for", system.human_duration(i["system_uptime_s"])),
            ("Disk free", f"{system.human_bytes(i['disk_free'])} of {system.human_bytes(i['disk_total'])}"),
            ("Memory available", f"{system.human_bytes(i['mem_available'])} of {system.human_bytes(i['mem_total'])}"
                                 f" (the app uses {system.human_bytes(i['app_rss'])})"),
            ("Journal", getattr(self.backend, "fault", None) and f"OUT OF SERVICE: {self.backend.fault}"
             or self.journal_checked or ("ok (checked at start" + (", full check after an unclean shutdown)"
                                         if getattr(self.journal, "unclean_start", False) else ")"))),
        ]
        if getattr(self.backend, "fault", None):
            self.system_rows.append(("What to do", advice(self.backend.fault)))
        sync = getattr(self.backend, "sync", None)
        skew = sync.status().clock_skew_s if sync is not None else None
        if skew is not None:
            from kiosk.sync import SKEW_LIMIT_S
            self.system_rows.append(("Clock", f"{skew:+.0f} s off the server's" +
                                     (" - CHECK THE CLOCK (receipts, end of day)" if abs(skew) > SKEW_LIMIT_S else "")))
        self._read_audit(lambda: self._audit_check().update())

    def check_journal(self) -> None:
        """The "check journal" button: SQLite's full integrity_check of the journal file, off the UI thread (a
        large journal takes seconds). Damage puts the kiosk out of service at once; the file is left as it is."""
        if not self._do("check_journal"):
            return
        self.journal_checked = "checking the whole journal..."
        self._refresh_system()
        started = time.monotonic()
        self._background(lambda: check_file(self.journal.path, full=True),
                         lambda _result, error: self._journal_checked(error, time.monotonic() - started))

    def _journal_checked(self, error: BaseException | None, took_s: float) -> None:
        if isinstance(error, JournalDamaged) and hasattr(self.journal, "fault"):
            self.journal.fault = f"journal damaged (found by a full check): {error.reason}"
            log.error("OUT OF SERVICE: %s", self.journal.fault)
        self.journal_checked = (f"ok (full check at {time.strftime('%H:%M')}, {took_s:.1f} s)" if error is None
                                else f"check failed: {error}")
        self._say("journal: " + self.journal_checked)
        self._refresh_system()

    def _audit_check(self) -> ChainCheck:
        if self._chain is None:
            self._chain = ChainCheck(lambda after: self.journal.audit_records(after=after), self.journal.audit_written)
        return self._chain

    def check_audit(self) -> list[str]:
        """The "check" button: the whole chain, now."""
        return self._read_audit(lambda: self._audit_check().full())

    def _read_audit(self, check) -> list[str]:
        try:
            return self._show_audit(check())
        except Exception as exc:  # noqa: BLE001 - a damaged journal: say so on the page, never crash the screen
            self.audit_ok, self.audit_text = False, f"Audit log cannot be read: {exc}"
            return [str(exc)]

    def _show_audit(self, problems: list[str]) -> list[str]:
        self.audit_ok = not problems
        written = self.journal.audit_written()
        self.audit_text = ("Audit log: " + counted(self.app.translator, "{count} record, chain intact",
                                                   "{count} records, chain intact", written) if not problems
                           else "Audit log TAMPERED: " + "; ".join(problems[:3]))
        return problems
