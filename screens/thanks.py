"""Thank-you: a one-tap rating (1-5) and an optional "was it easy?"; returns to attract by itself."""
from screens.widgets import CustomerScreen


class ThanksScreen(CustomerScreen):
    pass
