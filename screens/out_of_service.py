"""Out of service: shown when no offered flow has the devices it needs; attract returns by itself."""
from screens.widgets import CustomerScreen


class OutOfServiceScreen(CustomerScreen):
    pass
