"""Payment: follows the terminal's status texts; declined -> try again; in doubt -> a calm wait."""
from screens.widgets import CustomerScreen


class PaymentScreen(CustomerScreen):
    pass
