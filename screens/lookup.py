"""Item lookup: name search with the on-screen keyboard, and a picture grid of items without a barcode."""
from screens.widgets import CustomerScreen


class LookupScreen(CustomerScreen):
    pass
