"""The technician maintenance screen (issue 7): a PIN pad, then the pages Devices, Sync, Journal,
Logs, Config and System, drawn over the customer screens.

    from screens.maintenance import install
    install(app)     # once, after the KioskApp is created

`install` gives the App its `maintenance_hook` (the logo gesture opens the PIN pad) and returns the
model; the composition root puts `model.take_event` among the app's event filters, so that while the
screen is open scanned codes go to the scan test instead of a customer's cart, and a technician's
badge scan opens the PIN pad.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from kiosk.maintenance.config_edit import started_from
from screens.maintenance.model import MaintenanceModel

HERE = Path(__file__).resolve().parent


def install(app, config_path: str | Path | None = None, environ=None, **kw) -> MaintenanceModel:
    model = MaintenanceModel(app, config_path or started_from(sys.argv, os.environ if environ is None else environ),
                             environ, **kw)
    if app.settings.maintenance.gesture != "none":
        app.maintenance_hook = lambda _app: model.open_pad()
    model.bind(shown=lambda _m, shown: _show(app, model, shown))
    app.maintenance = model
    return model


def _show(app, model: MaintenanceModel, shown: bool) -> None:
    from screens.maintenance.shell import MaintenanceRoot
    root = getattr(model, "view", None)
    if root is None:
        root = model.view = MaintenanceRoot.create(model)
    if shown and root.parent is None:
        app.root.add_widget(root)
    elif not shown and root.parent is not None:
        root.parent.remove_widget(root)
