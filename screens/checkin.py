"""Check-in: scan the booking QR or type the code; confirm the booking; the ticket's queue number."""
from screens.widgets import CustomerScreen


class CheckinScreen(CustomerScreen):
    pass
