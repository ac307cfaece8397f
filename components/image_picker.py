"""The one image every page works on: a sample, an upload or a camera shot."""

from __future__ import annotations

import hashlib

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.images import ACCEPTED_EXTENSIONS, DecodedImage, ImageRejected, decode_image
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
from components.markdown_literal import markdown_naming
from components.upload_store import cap_session_uploads, release_upload

_CURRENT = "current_image"
_REJECTED = "rejected_image"  # (sha256 of the refused bytes, message, file name)


def current_image() -> DecodedImage:
    """The session's image; the default sample until the user picks another."""
    if _CURRENT not in st.session_state:
        st.session_state[_CURRENT] = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title)
    return st.session_state[_CURRENT]


def _offer_upload(upload: object, name: str | None = None) -> None:
    """Offers an upload's bytes once, then releases them from Streamlit's upload store; on
    later runs the widget gives a DeletedFile (None before any upload)."""
    if isinstance(upload, UploadedFile):
        _offer(upload.getvalue(), name or upload.name)
        release_upload(upload)


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
        st.session_state[_REJECTED] = (digest, str(exc), name)


def image_picker() -> None:
    """Sidebar widgets; they live in the entrypoint so they persist across pages."""
    cap_session_uploads()
    sidebar = st.sidebar
    sidebar.subheader("Image")
    source = sidebar.radio("Source", ["Sample", "Upload", "Camera"], horizontal=True, key="image_source")
    if source == "Sample":
        key = sidebar.selectbox(
            "Sample photo", list(SAMPLES), format_func=lambda k: SAMPLES[k].title, key="sample_key"
        )
        _offer(sample_bytes(key), SAMPLES[key].title)
    elif source == "Upload":
        _offer_upload(sidebar.file_uploader("Your picture", type=list(ACCEPTED_EXTENSIONS), key="upload"))
    else:
        _offer_upload(sidebar.camera_input("Take a picture", key="camera"), "camera shot")

    rejected = st.session_state.get(_REJECTED)
    if rejected:
        _, message, name = rejected
        sidebar.error(f"{markdown_naming(message, name)} The previous image is still in use.",
                      icon=":material/block:")
    image = current_image()
    sidebar.image(image.rgb, width="stretch")
    sidebar.text(image_caption(image))  # st.text: a file's name is never read as Markdown
    for note in image.notes:
        sidebar.caption(f"ⓘ {note}")


def image_caption(image: DecodedImage) -> str:
    """Name, size and, for a sample, its credit: plain text, for st.text (not Markdown)."""
    width, height = image.size
    credit = next((s.credit for s in SAMPLES.values() if s.title == image.name), None)
    return f"{image.name} · {width}×{height}" + (f" · {credit}" if credit else "")
