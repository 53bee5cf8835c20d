"""The customer flows as pure state machines: no Kivy, no threads, no device I/O.

`session.Session` is the one state machine a customer walks through: the shared `shell.Shell`
(language, large text, messages, help, the idle countdown, waits) with `checkout.CheckoutFlow`
(cart, lookup, age check, payment, receipt choice) and `checkin.CheckinFlow` on it, and the
thank-you screen. `actions.Action` is the fixed set of taps the screens make (`actions.DO` maps
them to the session). It talks to the rest of the kiosk only through a `Backend` (see
launcher/backend.py for the real one) and is driven by taps, device events and `tick(now)`, so
every flow is tested without a display.
"""
