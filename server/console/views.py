"""What the pages show of a lane or an intervention: plain dicts for the templates, in the user's language.
A state is always words and an icon as well as a colour (the CSS class), never colour alone."""
from __future__ import annotations

import gettext
from typing import Any

from kiosk.wire import format_amount

from server.console.i18n import BABEL_LOCALES


def _(text: str) -> str:  # marks a msgid for tools/i18n; translated where it is shown
    return text


STATUS = {  # status -> (icon, words)
    "offline": ("📡", _("Offline")),
    "in_doubt": ("⚠️", _("Payment in doubt")),
    "help": ("✋", _("Needs help")),
    "age_check": ("🪪", _("Waiting for age check")),
    "out_of_service": ("⛔", _("Out of service")),
    "device_fault": ("🔧", _("Device fault")),
    "paying": ("💳", _("Paying")),
    "shopping": ("🛒", _("Shopping")),
    "idle": ("💤", _("Idle")),
}
KINDS = {  # intervention kind -> (icon, words)
    "help": ("✋", _("Help called")),
    "age_check": ("🪪", _("Age check")),
    "payment_in_doubt": ("⚠️", _("Payment in doubt")),
    "device_fault": ("🔧", _("Device fault")),
    "offline": ("📡", _("Kiosk offline")),
    "outbox_growing": ("📦", _("Outbox growing")),
    "insight": ("📉", _("Insight alert")),  # a site's threshold (server/insight_alerts.py)
}
COMMANDS = {  # command kind -> button text
    "approve_age": _("Approve age"),
    "refuse_age": _("Refuse age"),
    "cancel_session": _("Cancel session"),
    "out_of_service": _("Out of service"),
    "in_service": _("Back in service"),
    "sync_now": _("Sync now"),
    "test_print": _("Test print"),
    "reload_config": _("Reload config"),
}
OUTCOMES = {
    "done": _("Done"), "refused": _("Refused"), "expired": _("No answer from the kiosk"), "failed": _("Failed"),
    "pending": _("Sent; the kiosk has not answered yet"),
}
ATTENDANT_COMMANDS = frozenset({"approve_age", "refuse_age", "cancel_session", "out_of_service", "in_service",
                                "test_print"})
MANAGER_COMMANDS = ATTENDANT_COMMANDS | {"sync_now", "reload_config"}


def allowed_commands(role: str) -> frozenset[str]:
    return ATTENDANT_COMMANDS if role == "attendant" else MANAGER_COMMANDS


def _money(minor: int, currency: str, lang: str) -> str:
    return format_amount(minor, currency, BABEL_LOCALES.get(lang, lang))


def lane_view(lane: Any, tr: gettext.NullTranslations, lang: str, helper: str | None = None) -> dict:
    """`helper`: who acknowledged the lane's open help call."""
    status = lane.status if lane.status in STATUS else "idle"
    icon, words = ("🚫", _("Disabled")) if getattr(lane, "disabled", False) else STATUS[status]
    state = lane.state
    details = []
    if state is not None and status in ("shopping", "paying", "age_check", "help", "in_doubt"):
        if state.item_count or state.total_minor:
            count = tr.ngettext("{count} item", "{count} items", state.item_count).format(count=state.item_count)
            details.append(f"{count}, {_money(state.total_minor, state.currency, lang)}")
    if state is not None and status == "out_of_service" and state.out_of_service:
        details.append(state.out_of_service)
    if state is not None:
        faults = [f"{name}: {what}" for name, what in sorted(state.devices.items()) if what != "ok"]
        details += faults[:3]
    helper = helper or (state.help_acknowledged_by if state is not None and state.help_called else None)
    if helper:
        details.append(tr.gettext("Help on the way: {name}").format(name=helper))
    return {"kiosk_id": lane.kiosk_id, "name": lane.name or lane.kiosk_id, "status": status, "icon": icon,
            "words": tr.gettext(words), "details": details, "since": lane.status_since or "",
            "last_seen": lane.last_seen_at or "", "session_id": state.session_id if state else None,
            "out_of_service": status == "out_of_service" or bool(state and state.out_of_service),
            "age_check": bool(state and state.age_check_pending),
            "closing": state.closing if state is not None and status != "out_of_service" else None}


def intervention_view(item: Any, lanes: dict[str, Any], tr: gettext.NullTranslations, lang: str) -> dict:
    icon, words = KINDS.get(item.kind, ("❗", item.kind))
    lane = lanes.get(item.kiosk_id)
    state = lane.state if lane is not None else None
    detail = item.detail or ""
    if item.kind == "payment_in_doubt" and state is not None:
        detail = _money(state.total_minor, state.currency, lang)
    if item.resolved_at:
        stage = "resolved"
    elif item.acknowledged_at:
        stage = "acknowledged"
    else:
        stage = "raised"
    return {"id": item.id, "kiosk_id": item.kiosk_id, "kiosk_name": (lane.name if lane else "") or item.kiosk_id,
            "kind": item.kind, "icon": icon, "words": tr.gettext(words), "detail": detail,
            "session_id": item.session_id or (state.session_id if state else None), "stage": stage,
            "raised_at": item.raised_at, "acknowledged_by": item.acknowledged_by,
            "acknowledged_at": item.acknowledged_at, "resolved_by": item.resolved_by, "resolved_at": item.resolved_at}
