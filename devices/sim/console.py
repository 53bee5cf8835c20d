"""Commands that drive simulators by hand or from a script, locally or over a TCP control port.

    scan 4006381333931 [EAN-13]     scanner: send a code (symbology guessed when left out)
    raw 00ff0d                      scanner: send raw bytes, given in hex
    paper ok|near_end|out           printer: paper state
    cover open|closed               printer: cover
    offline on|off                  printer: offline (as if its power button was pressed)
    mute on|off                     printer: stop/start answering status queries
    runout 5                        printer: paper runs out after 5 more printed elements
    receipts                        printer: list received receipts; `receipt N` prints one as text
    show BK-7Q2X9K [QR]             camera: hold a code in front of the camera; `clear` takes it away
    photo /path/to/label.jpg        camera: hold a photograph in front of the camera (letterboxed); `clear`
    stall on|off                    camera: stop/start delivering frames
    payment approve                 card terminal: approve the next payments (the default)
    payment decline 05              card terminal: decline the next payments with this result code (hex)
    payment timeout                 card terminal: go silent in the next payment after charging it
    payment linkloss [STEP]         card terminal: cut the link in the next payment (default: after charging)
    payment pin 8                   card terminal: 8 s of PIN entry from now on
    payment ledger                  card terminal: every charge and reversal it booked
    unplug scanner | replug printer any device: pull or reconnect its cable
    status                          what is running where
    ui                              the kiosk's screen as the customer sees it, as JSON (read-only)
    clock -1d | +1y | +90 | real    kiosk --simulate: step the kiosk's wall clock (simulation only)
    freeze 5                        the kiosk (--simulate only): block its UI thread for 5 s (watchdog test)
    help

`ControlServer` accepts these lines on 127.0.0.1:<port>; each reply is its lines followed by a line
holding a single "." (`printf 'scan 4006381333931\\n' | nc -q1 127.0.0.1 <port>`).
"""
from __future__ import annotations

import shlex
import socket
import threading
from typing import Any, Callable

_OWNER = {"scan": "scanner", "raw": "scanner", "paper": "printer", "cover": "printer", "offline": "printer",
          "mute": "printer", "runout": "printer", "receipts": "printer", "receipt": "printer",
          "show": "camera", "photo": "camera", "clear": "camera", "stall": "camera", "payment": "payment"}


class CommandError(ValueError):
    pass


class Console:
    def __init__(self, simulators: dict[str, Any], queries: dict[str, Callable[[], str]] | None = None) -> None:
        self.simulators = simulators
        # read-only views the kiosk adds (e.g. "ui": what the customer sees); they must not change anything
        self.queries: dict[str, Callable[[], str]] = dict(queries or {})
        # commands the kiosk adds that act on the kiosk itself (e.g. "clock"), given the command's arguments
        self.commands: dict[str, Callable[[list[str]], str]] = {}

    def execute(self, line: str) -> str:
        """Run one command line; returns the reply text. Never raises: errors are replies too."""
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            return f"error: {exc}"
        if not words:
            return ""
        try:
            return self._run(words[0].lower(), words[1:])
        except CommandError as exc:
            return f"error: {exc}"
        except (ValueError, IndexError, OSError) as exc:
            return f"error: {words[0]}: {exc}"

    def _sim(self, name: str) -> Any:
        sim = self.simulators.get(name)
        if sim is None:
            raise CommandError(f"no {name} simulator is running here (running: {', '.join(self.simulators) or 'none'})")
        return sim

    def _run(self, verb: str, args: list[str]) -> str:
        if verb == "help":
            return __doc__.split("\n\n")[1]
        if verb in self.queries:
            try:
                return self.queries[verb](*args)
            except TypeError:
                raise CommandError(f"{verb}: unexpected arguments {' '.join(args)!r}") from None
        if verb in self.commands:
            return self.commands[verb](args)
        if verb == "status":
            return "\n".join(f"{name}: {getattr(sim, 'url', 'in-process')}" for name, sim in self.simulators.items())
        if verb in ("unplug", "replug"):
            if not args:
                raise CommandError(f"{verb} which device? ({', '.join(self.simulators)})")
            getattr(self._sim(args[0]), verb)()
            return f"{args[0]} {verb}ged"
        owner = _OWNER.get(verb)
        if owner is None:
            raise CommandError(f"unknown command {verb!r}; try 'help'")
        sim = self._sim(owner)
        if verb == "scan":
            _need(args, 1, "scan CODE [SYMBOLOGY]")
            return "sent" if sim.scan(args[0], args[1] if len(args) > 1 else None) else "not sent: no kiosk connected"
        if verb == "payment":
            return _payment(sim, args)
        if verb == "raw":
            _need(args, 1, "raw HEX")
            return "sent" if sim.send_raw(bytes.fromhex("".join(args))) else "not sent: no kiosk connected"
        if verb == "paper":
            _need(args, 1, "paper ok|near_end|out")
            sim.set_paper(args[0])
            return f"paper {args[0]}"
        if verb in ("cover", "offline", "mute", "stall"):
            _need(args, 1, f"{verb} on|off" if verb != "cover" else "cover open|closed")
            on = _switch(args[0])
            {"cover": sim.set_cover if verb == "cover" else None, "offline": getattr(sim, "set_offline", None),
             "mute": getattr(sim, "set_mute", None), "stall": getattr(sim, "stall", None)}[verb](on)
            return f"{verb} {args[0]}"
        if verb == "runout":
            _need(args, 1, "runout N")
            sim.run_out_after(int(args[0]))
            return f"paper runs out after {int(args[0])} more elements"
        if verb == "receipts":
            return "\n".join(f"{i + 1}: {len(doc.items)} elements, {'cut' if doc.cut else 'not cut'}"
                             f"{', INCOMPLETE' if doc.incomplete else ''}"
                             for i, doc in enumerate(sim.receipts)) or "no receipts yet"
        if verb == "receipt":
            index = int(args[0]) - 1 if args else len(sim.receipts) - 1
            if not 0 <= index < len(sim.receipts):
                raise CommandError(f"no receipt {index + 1}; {len(sim.receipts)} received")
            return sim.text(index)
        if verb == "show":
            _need(args, 1, "show CODE [SYMBOLOGY]")
            sim.show(args[0], args[1] if len(args) > 1 else "QR")
            return "showing"
        if verb == "photo":
            _need(args, 1, "photo PATH")
            try:
                sim.hold_picture(args[0])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            return "showing the photograph"
        if verb == "clear":
            sim.clear()
            return "cleared"
        raise CommandError(f"unknown command {verb!r}")


def _payment(sim: Any, args: list[str]) -> str:
    from devices.zvt.sim import STEPS, Fault
    _need(args, 1, "payment approve|decline CODE|timeout|linkloss [STEP]|pin SECONDS|ledger")
    what = args[0].lower()
    if what == "approve":
        sim.config.result_code = 0
        return "payments will be approved"
    if what == "decline":
        _need(args, 2, "payment decline CODE (hex, e.g. 05)")
        code = int(args[1], 16)
        if not 0x01 <= code <= 0xFF:
            raise CommandError(f"result code {args[1]!r} out of range 01..FF")
        sim.config.result_code = code
        return f"payments will be declined with result {code:02X}"
    if what in ("timeout", "linkloss"):
        step = args[1] if len(args) > 1 else "authorised"
        if step not in STEPS:
            raise CommandError(f"unknown step {step!r}; steps: {', '.join(STEPS)}")
        sim.inject(Fault("silent" if what == "timeout" else "drop", step))
        return f"the next payment {'goes silent' if what == 'timeout' else 'loses its link'} at {step}"
    if what == "pin":
        _need(args, 2, "payment pin SECONDS")
        seconds = float(args[1])
        if not 0 <= seconds <= 600:
            raise CommandError("PIN entry takes 0 to 600 seconds")
        sim.config.pin_delay = seconds
        return f"PIN entry takes {seconds:g} s"
    if what == "ledger":
        return "\n".join(f"{e.kind} {e.amount} receipt {e.receipt_no} trace {e.trace_no}"
                         + (" reversed" if e.reversed else "") for e in list(sim.ledger)) or "nothing booked"
    raise CommandError(f"unknown payment command {what!r}; try 'help'")


def _need(args: list[str], count: int, usage: str) -> None:
    if len(args) < count:
        raise CommandError(f"usage: {usage}")


def _switch(word: str) -> bool:
    value = word.lower()
    if value in ("on", "open", "true", "1", "yes"):
        return True
    if value in ("off", "closed", "close", "false", "0", "no"):
        return False
    raise CommandError(f"expected on/off (or open/closed), got {word!r}")


class ControlServer:
    """The console's commands on a loopback TCP port (0 = pick one; see `.port`)."""

    def __init__(self, console: Console, port: int = 0) -> None:
        self.console = console
        self._server = socket.create_server(("127.0.0.1", port))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, name="sim-control", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, client.makefile("rw", encoding="utf-8", newline="\n") as stream:
            for line in stream:
                reply = self.console.execute(line.strip())
                # reply lines, then a line with a single "." (lines starting with "." get one more)
                body = "".join(("." + part if part.startswith(".") else part) + "\n" for part in reply.split("\n"))
                stream.write(body + ".\n")
                stream.flush()

    def stop(self) -> None:
        self._server.close()


def send(port: int, commands: list[str], timeout: float = 10.0) -> list[str]:
    """Run commands on a ControlServer; returns the replies."""
    replies = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        stream = sock.makefile("rw", encoding="utf-8", newline="\n")
        for command in commands:
            stream.write(command + "\n")
            stream.flush()
            lines = []
            while (line := stream.readline()) not in (".\n", ""):
                line = line.rstrip("\n")
                lines.append(line[1:] if line.startswith("..") else line)
            replies.append("\n".join(lines))
    return replies
