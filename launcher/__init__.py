"""The composition root: the only place that builds and wires the kiosk's parts.

    cli.py      the `kiosk` command: settings, logging, --simulate, then the UI
    ui.py       the Kivy app on the shared event queue, the maintenance screen, the control port's `ui` view
    backend.py  the session's backend: journal, catalog, bookings, devices, sync, the local central server
    demo.py     demo catalog, bookings and staff for `kiosk --simulate`

Nothing imports this package; `lint-imports` (pyproject.toml) checks that and the other layer rules.
"""
