"""The session's state as the screens' texts: translated into the current language, money formatted, cart and
search rows built. A mixin of KioskApp (screens/app.py), whose properties it fills on every refresh."""
from __future__ import annotations

from kiosk.flows import states as flow, texts


class SessionTexts:
    """Needs of its host: `session`, `translator`, `settings`, `pictures`, `lang` and the text properties."""

    def _refresh_texts(self) -> None:
        """Everything that depends on the language as well as on the session."""
        s, tr, lang = self.session, self.tr, self.lang
        m = s.message
        self.message_text = self.tr_fill(m.msgid, m.params) if m else ""
        self.message_help = bool(m and m.help)
        self.notice_text = tr(s.notice) if s.notice else ""
        self.help_text = tr(s.help_text)
        self.help_coming_text = tr(texts.HELP_COMING) if s.help_called and s.help_acknowledged_by else ""
        self.closed_text = "" if s.closed_reason is None else tr(texts.UPDATING) \
            if s.closed_reason == texts.UPDATING else "\n".join(
            (tr(texts.CLOSED_BY_STAFF), self.tr_fill(texts.CLOSED_REASON, {"reason": s.closed_reason})))
        cart = s.checkout.cart
        if cart is not None:
            money = self.money
            self._update_rows(self.cart_lines, [{
                "line_no": line.line_no, "name": line.item.name(lang), "quantity": str(line.quantity),
                "unit_text": money(line.unit_price), "total_text": money(line.unit_price * line.quantity),
                "voided": line.voided, "needs_approval": line.needs_approval, "fixed": line.price_embedded,
                "status_text": tr("Removed") if line.voided else (tr("Age check") if line.needs_approval else ""),
            } for line in cart.lines])  # oldest first, as on a till slip; the list scrolls to the newest
            self.total_text = money(cart.total.amount)
            self.items_text = self.translator.ngettext("{count} item", "{count} items", cart.item_count, lang).format(
                count=self.translator.number(cart.item_count, lang))
            self.can_pay = cart.can_pay or bool(cart.awaiting_approval)
            self.age_waiting = bool(cart.awaiting_approval)
            self.age_items_text = ", ".join(line.item.name(lang) for line in cart.awaiting_approval)
        else:
            self.cart_lines, self.total_text, self.items_text = [], self.money(0), ""
            self.can_pay = self.age_waiting = False
            self.age_items_text = ""
        self.payment_text = tr(s.checkout.payment_text) if s.checkout.payment_text else ""
        self.payment_message = tr(s.checkout.payment_message) if s.checkout.payment_message else ""
        self.search_text = s.checkout.search_text
        self.search_results = [self._item_row(item) for item in s.checkout.search_results]
        if s.state == flow.LOOKUP and not self.plu_items or self.plu_items and self.plu_items[0]["lang"] != lang:
            self.plu_items = [self._item_row(item) for item in s.checkout.plu_items()]
        self.checkin_code = s.checkin.checkin_code
        b = s.checkin.booking
        self.booking_text = "" if b is None else self.translator.ngettext(
            "{name}\n{time}\n{people} person", "{name}\n{time}\n{people} people", b.party_size, lang).format(
            name=b.name, time=self.translator.datetime(b.slot_start, lang),
            people=self.translator.number(b.party_size, lang))
        self.ticket_no = str(s.checkin.ticket_no or "")
        self.receipt_url = s.checkout.receipt_url() if s.state == flow.RECEIPT_QR else ""
        self.rating = s.rating or 0
        self.easy_answer = "" if s.easy is None else ("yes" if s.easy else "no")

    @staticmethod
    def _update_rows(rows, new: list[dict]) -> None:
        """Changes only the rows that changed, so the list re-draws those alone (a scan appends one)."""
        if len(new) < len(rows):
            rows[:] = new
            return
        for index, row in enumerate(new[:len(rows)]):
            if rows[index] != row:
                rows[index] = row
        if len(new) > len(rows):
            rows.extend(new[len(rows):])

    def _item_row(self, item) -> dict:
        return {"item_id": item.id, "name": item.name(self.lang), "price_text": self.money(item.price),
                "image": self.pictures.path(item.image), "lang": self.lang}

    def tr(self, msgid: str, _lang: str | None = None) -> str:
        """Translated text; kv passes `app.lang` as the 2nd argument so the binding follows the language."""
        return self.translator.gettext(msgid, self.lang)

    def tr_fill(self, msgid: str, params: dict) -> str:
        values = {k: (self.translator.time(v, self.lang) if hasattr(v, "hour") else v) for k, v in params.items()}
        try:
            return self.tr(msgid).format(**values)
        except (KeyError, IndexError):
            return self.tr(msgid)

    def money(self, amount: int) -> str:
        return self.translator.money(amount, self.settings.money.currency, self.lang)
