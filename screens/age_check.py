"""Age check: the cart waits for an attendant's PIN or badge; the customer may remove the item instead."""
from screens.widgets import CustomerScreen


class AgeCheckScreen(CustomerScreen):
    pass
