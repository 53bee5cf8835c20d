"""The simulator console.

    python -m devices.sim run scanner printer            # scanner on a free TCP port, printer on another
    python -m devices.sim run scanner=pty:/tmp/scanner printer=tcp:9100 --out var/receipts
    python -m devices.sim run scanner=rfc2217:2217       # a scanner behind an RFC 2217 serial server
    python -m devices.sim run scanner -c "scan 4006381333931" -c "sleep 1" --exit
    python -m devices.sim send --port 7700 "paper out" "scan BK-7Q2X9K QR"
    python -m devices.sim frames var/frames --count 40   # camera test images for folder playback
    python -m devices.sim receipt docs/img/sample-receipt.png --logo docs/img/sample-logo.png
    python -m devices.sim payment tcp --port 20007 --decline 05   # ZVT card terminal (see docs/payment.md)

`run` prints where each simulator listens and a control port, then reads commands from stdin
(type `help`). `send` runs commands on a running console or on the kiosk's own simulators.
"""
from __future__ import annotations

import argparse
import sys
import time

from devices.sim.console import Console, ControlServer, send


def _run(args: argparse.Namespace) -> int:
    simulators = {}
    for spec in args.devices:
        name, _, where = spec.partition("=")
        transport, _, place = (where or "tcp:0").partition(":")
        if name == "scanner":
            from devices.sim.scanner import ScannerSimulator
            sim = ScannerSimulator(transport, args.suffix, not args.no_aim,
                                   port=int(place or 0) if transport in ("tcp", "rfc2217") else 0,
                                   path=place or None if transport == "pty" else None)
        elif name == "printer":
            from devices.sim.printer import PrinterSimulator
            sim = PrinterSimulator(transport, port=int(place or 0) if transport == "tcp" else 0,
                                   path=place or None if transport == "pty" else None, columns=args.columns,
                                   out_dir=args.out)
        else:
            print(f"unknown simulator {name!r}; expected scanner or printer (the camera runs inside the kiosk: "
                  f"driver = \"simulator\")", file=sys.stderr)
            return 2
        simulators[name] = sim.start()
    console = Console(simulators)
    control = ControlServer(console, args.control_port)
    for name, sim in simulators.items():
        hint = {"scanner": "[devices.scanner] driver = \"serial\", url = \"{url}\"",
                "printer": "[devices.printer] driver = \"network\", host = \"127.0.0.1\", port = {port}"
                if sim.url.startswith("socket://") else "[devices.printer] driver = \"serial\", url = \"{url}\""}
        print(f"{name}: {sim.url}    kiosk.toml: {hint[name].format(url=sim.url, port=getattr(sim, 'port', 0))}")
    print(f"control: 127.0.0.1:{control.port}    (python -m devices.sim send --port {control.port} \"help\")")
    sys.stdout.flush()
    try:
        for command in args.command or []:
            _execute(console, command)
        if args.exit:
            return 0
        for line in sys.stdin:
            if line.strip() in ("quit", "exit"):
                break
            _execute(console, line)
        else:
            while True:  # stdin closed (started in the background): keep serving the control port
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        control.stop()
        for sim in simulators.values():
            sim.stop()
    return 0


def _execute(console: Console, line: str) -> None:
    words = line.split()
    if words[:1] == ["sleep"]:
        time.sleep(float(words[1]) if len(words) > 1 else 1.0)
        return
    reply = console.execute(line)
    if reply:
        print(reply, flush=True)


def _send(args: argparse.Namespace) -> int:
    """One command: its reply alone (for scripts: `send --port P ui | jq`); several: each under "> command".
    Exit status 1 when any reply is an error."""
    replies = send(args.port, args.commands)
    for command, reply in zip(args.commands, replies, strict=True):
        print(reply if len(replies) == 1 else f"> {command}\n{reply}")
    return 1 if any(reply.startswith("error:") for reply in replies) else 0


def _frames(args: argparse.Namespace) -> int:
    from pathlib import Path

    import cv2

    from devices.sim.camera import corpus
    out = Path(args.folder)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "labels.csv").open("w", encoding="utf-8") as labels:
        labels.write("file,symbology,text\n")
        for i, (frame, text, symbology) in enumerate(corpus(args.count, seed=args.seed)):
            name = f"frame-{i:04d}.png"
            cv2.imwrite(str(out / name), frame)
            labels.write(f"{name},{symbology},{text!r}\n")
    print(f"{args.count} frames written to {out}")
    return 0


def _receipt(args: argparse.Namespace) -> int:
    from devices.receipt import ReceiptBuilder
    from devices.sim.escpos import EscPosParser
    from devices.sim.render import to_png, to_text
    from devices.sim.samples import sample_receipt

    from dataclasses import replace
    receipt = sample_receipt()
    if args.logo:
        receipt = replace(receipt, shop=replace(receipt.shop, logo=args.logo))
    parser = EscPosParser()
    parser.feed(ReceiptBuilder(args.columns).build(receipt))
    doc = parser.documents[0]
    print(to_text(doc, args.columns))
    print(f"written to {to_png(doc, args.png, args.columns)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["payment"]:  # the ZVT card terminal has its own simulator and options
        from devices.zvt.sim_cli import main as payment_main
        return payment_main(args[1:])
    ap = argparse.ArgumentParser(prog="python -m devices.sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="start simulators and a command console")
    run.add_argument("devices", nargs="+",
                     help="scanner | printer, optionally =tcp:PORT or =pty:PATH (scanner also =rfc2217:PORT)")
    run.add_argument("--suffix", default="CR", choices=["CR", "LF", "CRLF", "TAB"])
    run.add_argument("--no-aim", action="store_true", help="scanner sends no AIM symbology identifiers")
    run.add_argument("--columns", type=int, default=42)
    run.add_argument("--out", help="printer: write each receipt here as .txt and .png")
    run.add_argument("--control-port", type=int, default=0)
    run.add_argument("-c", "--command", action="append", help="run this command first (repeatable)")
    run.add_argument("--exit", action="store_true", help="exit after the -c commands")
    run.set_defaults(func=_run)
    snd = sub.add_parser("send", help="run commands on a running console's control port")
    snd.add_argument("--port", type=int, required=True)
    snd.add_argument("commands", nargs="+")
    snd.set_defaults(func=_send)
    frames = sub.add_parser("frames", help="write camera test frames (PNG) and labels.csv")
    frames.add_argument("folder")
    frames.add_argument("--count", type=int, default=40)
    frames.add_argument("--seed", type=int, default=1)
    frames.set_defaults(func=_frames)
    receipt = sub.add_parser("receipt", help="render the sample receipt to a PNG")
    receipt.add_argument("png")
    receipt.add_argument("--columns", type=int, default=42)
    receipt.add_argument("--logo", help="an image printed at the top")
    receipt.set_defaults(func=_receipt)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
