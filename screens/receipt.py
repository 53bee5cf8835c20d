"""Receipt choice: print, no receipt, or a QR code that opens the receipt on the central server."""
from __future__ import annotations

from kivy.graphics.texture import Texture
from kivy.properties import StringProperty
from kivy.uix.image import Image

from screens.widgets import CustomerScreen


class QrImage(Image):
    """A QR code of `data`, drawn black on white with its quiet zone (readable in high contrast too)."""
    data = StringProperty("")
    tag = StringProperty("")

    def on_data(self, _instance, data: str) -> None:
        if not data:
            self.texture = None
            return
        import qrcode
        qr = qrcode.QRCode(border=4, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(data)
        qr.make(fit=True)
        image = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
        image = image.resize((image.width * 8, image.height * 8), 0)  # nearest: sharp modules
        texture = Texture.create(size=image.size, colorfmt="rgb")
        texture.blit_buffer(image.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        texture.flip_vertical()
        texture.mag_filter = "nearest"
        self.texture = texture


class ReceiptScreen(CustomerScreen):
    pass
