"""The sidebar every page shares: image, device, model status."""

from components.device_picker import device_picker
from components.image_picker import image_picker
from components.model_status import model_status
from components.share import share_panel


def shared_sidebar() -> None:
    share_panel()
    image_picker()
    device_picker()
    model_status()
