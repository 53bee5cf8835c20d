"""Sample data for simulators, benches and docs: a receipt with umlauts, € and several VAT rates."""
from __future__ import annotations

from devices.receipt import Receipt, Shop
from kiosk.wire import Payment, SaleBody, SaleLine, VatSummary

SHOP = Shop(name="Bäckerei Süß", address=("Königstraße 12", "70173 Stuttgart"), vat_id="DE123456789",
            footer=("Vielen Dank für Ihren Einkauf!", "Grüße aus der Backstube"))

_ITEMS = [  # name, quantity, unit price, vat code
    ("Brötchen", 4, 45, "B"), ("Laugenbrezel", 2, 89, "B"), ("Käsekuchen Stück", 1, 320, "B"),
    ("Kaffee groß", 1, 350, "A"), ("Orangensaft 0,5 l", 1, 249, "A"), ("Müsliriegel", 3, 129, "B"),
    ("Apfel lose", 512, 299, "B"),  # weighed: 512 g at 2,99 €/kg
]
RATES = {"A": 1900, "B": 700}


def sample_sale(lines: int = len(_ITEMS)) -> SaleBody:
    sale_lines = []
    for i in range(lines):
        name, qty, price, code = _ITEMS[i % len(_ITEMS)]
        total = qty * price if qty < 100 else round(qty * price / 1000)
        sale_lines.append(SaleLine(line_no=i + 1, item_id=f"0400638133{i:04d}", name=name, quantity=qty,
                                   unit_price=price, total=total, vat_code=code, vat_rate=RATES[code]))
    vat = []
    for code, rate in RATES.items():
        gross = sum(line.total for line in sale_lines if line.vat_code == code)
        net = round(gross * 10000 / (10000 + rate))
        vat.append(VatSummary(code=code, rate=rate, gross=gross, net=net, vat=gross - net))
    total = sum(line.total for line in sale_lines)
    payment = Payment(method="card", amount=total, status="approved", brand="girocard",
                      masked_pan="672559******1234", auth_code="123456", receipt_no="0042", trace_no="000815",
                      terminal_id="52500038")
    return SaleBody(currency="EUR", total=total, lines=sale_lines, vat=vat, payments=[payment],
                    receipt_token="q7Vx3kPz9Lw2")


def sample_receipt(lines: int = len(_ITEMS)) -> Receipt:
    return Receipt(SHOP, sample_sale(lines), "kiosk-001/000123", "23.11.2026 15:40",
                   "http://127.0.0.1:8765/r/q7Vx3kPz9Lw2")
