"""The customer flows as pure state machines: no Kivy, no threads, no device I/O.

`session.Session` is the one state machine a customer walks through (attract, checkout, lookup,
age check, payment, receipt choice, check-in, thank-you, with help, idle and out-of-service on
top). It talks to the rest of the kiosk only through a `Backend` (see `backend.py` for the real one)
and is driven by taps, device events and `tick(now)`, so every flow is tested without a display.
"""
