"""The one image every page works on: a sample, an upload or a camera shot."""

from __future__ import annotations

import hashlib

import streamlit as st

from app.images import ACCEPTED_EXTENSIONS, DecodedImage, ImageRejected, decode_image
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes

_CURRENT = "current_image"
_REJECTED = "rejected_image"  # (sha256 of the refused bytes, message)


def current_image() -> DecodedImage:
    """The session's image; the default sample until the user picks another."""
    if _CURRENT not in st.session_state:
        st.session_state[_CURRENT] = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title)
    return st.session_state[_CURRENT]


def _offer(data: bytes, name: str) -> None:
    """Makes `data` the current image unless it is refused; a refused file
    leaves the previous image in place and its reason on screen."""
    digest = hashlib.sha256(data).hexdigest()
    if digest == current_image().sha256:
        return
    rejected = st.session_state.get(_REJECTED)
    if rejected and rejected[0] == digest:
        return
    try:
        st.session_state[_CURRENT] = decode_image(data, name)
        st.session_state.pop(_REJECTED, None)
    except ImageRejected as exc:
        st.session_state[_REJECTED] = (digest, str(exc))


def image_picker() -> None:
    """Sidebar widgets; they live in the entrypoint so they persist across pages."""
    sidebar = st.sidebar
    sidebar.subheader("Image")
    source = sidebar.radio("Source", ["Sample", "Upload", "Camera"], horizontal=True, key="image_source")
    if source == "Sample":
        key = sidebar.selectbox(
            "Sample photo", list(SAMPLES), format_func=lambda k: SAMPLES[k].title, key="sample_key"
        )
        _offer(sample_bytes(key), SAMPLES[key].title)
    elif source == "Upload":
        upload = sidebar.file_uploader("Your picture", type=list(ACCEPTED_EXTENSIONS), key="upload")
        if upload is not None:
            _offer(upload.getvalue(), upload.name)
    else:
        shot = sidebar.camera_input("Take a picture", key="camera")
        if shot is not None:
            _offer(shot.getvalue(), "camera shot")

    rejected = st.session_state.get(_REJECTED)
    if rejected:
        sidebar.error(f"{rejected[1]} The previous image is still in use.", icon=":material/block:")
    image = current_image()
    sidebar.image(image.rgb, caption=_caption(image), width="stretch")
    for note in image.notes:
        sidebar.caption(f"ⓘ {note}")


def _caption(image: DecodedImage) -> str:
    width, height = image.size
    credit = next((s.credit for s in SAMPLES.values() if s.title == image.name), None)
    return f"{image.name} · {width}×{height}" + (f" · {credit}" if credit else "")
