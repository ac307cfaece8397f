"""The one image every page works on: a sample, an upload or a camera shot, kept in the
workspace (a sample by its name, a picture by its bytes, stored once under their SHA-256)."""

from __future__ import annotations

import hashlib
import json

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.images import ACCEPTED_EXTENSIONS, DecodedImage, ImageRejected, decode_image
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
from app.workspace.blobs import BlobMissing
from components.markdown_literal import markdown_naming
from components.server_state import STORE
from components.upload_store import cap_session_uploads, release_upload
from components.workspace import keep_source, workspace_id

_CURRENT = "_current_image"
_REJECTED = "_rejected_image"  # (sha256 of the refused bytes, message, file name)
_NOT_KEPT = "_image_not_kept"  # why the current image is not in the workspace, or why it did not come back
_STORED = "image"  # in the workspace: {"sample": key} or {"sha256": digest, "name": file name}


def current_image() -> DecodedImage:
    """The session's image: the workspace's, else the default sample."""
    if _CURRENT not in st.session_state:
        st.session_state[_CURRENT] = _restored() or decode_image(sample_bytes(DEFAULT_SAMPLE),
                                                                 SAMPLES[DEFAULT_SAMPLE].title)
    return st.session_state[_CURRENT]


def _restored() -> DecodedImage | None:
    text = STORE.values(workspace_id()).get(_STORED)
    if text is None:
        return None
    try:
        stored = json.loads(text)
        if "sample" in stored:
            return decode_image(sample_bytes(stored["sample"]), SAMPLES[stored["sample"]].title)
        return decode_image(STORE.blob(stored["sha256"]), stored["name"])
    except (BlobMissing, ImageRejected, ValueError, KeyError, TypeError) as problem:
        st.session_state[_NOT_KEPT] = f"Your picture could not be brought back ({problem}); the sample is shown."
        return None


def _keep(image: DecodedImage, data: bytes, sample: str | None) -> None:
    """Makes `image` the workspace's, replacing the one kept before."""
    refused = keep_source(_STORED, {"sample": sample} if sample else {"name": image.name}, None if sample else data)
    if refused:
        st.session_state[_NOT_KEPT] = f"This picture is used but not kept for your next visit: {refused}."


def _offer_upload(upload: object, name: str | None = None) -> None:
    """Offers an upload's bytes once, then releases them from Streamlit's upload store; on
    later runs the widget gives a DeletedFile (None before any upload)."""
    if isinstance(upload, UploadedFile):
        _offer(upload.getvalue(), name or upload.name)
        release_upload(upload)


def _offer(data: bytes, name: str, sample: str | None = None) -> None:
    """Makes `data` the current image unless it is refused; a refused file
    leaves the previous image in place and its reason on screen."""
    digest = hashlib.sha256(data).hexdigest()
    if digest == current_image().sha256:
        return
    rejected = st.session_state.get(_REJECTED)
    if rejected and rejected[0] == digest:
        return
    try:
        image = decode_image(data, name)
    except ImageRejected as exc:
        st.session_state[_REJECTED] = (digest, str(exc), name)
        return
    st.session_state[_CURRENT] = image
    st.session_state.pop(_REJECTED, None)
    st.session_state.pop(_NOT_KEPT, None)
    _keep(image, data, sample)


def image_source_now() -> str | dict[str, str]:
    """What the current image is, as a lesson's scene names it: a sample's name, or an upload
    kept in this workspace ({"sha256", "name"})."""
    text = STORE.values(workspace_id()).get(_STORED)
    stored = json.loads(text) if text else {"sample": DEFAULT_SAMPLE}
    return stored["sample"] if "sample" in stored else {"sha256": stored["sha256"], "name": stored["name"]}


def show_image(source: str | dict[str, str]) -> str | None:
    """Makes a scene's image the current one (a sample by name, a kept upload by its digest);
    before the sidebar is drawn. Returns why not, when a kept upload is no longer there."""
    if isinstance(source, str):
        st.session_state["image_source"], st.session_state["sample_key"] = "Sample", source
        return None
    try:
        data = STORE.blob(source["sha256"])
    except BlobMissing:
        return f"The scene's picture {source['name']} is not in this workspace; the image on screen stays."
    st.session_state["image_source"] = "Upload"
    _offer(data, source["name"])
    return None


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
        _offer(sample_bytes(key), SAMPLES[key].title, sample=key)
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
    if not_kept := st.session_state.get(_NOT_KEPT):
        sidebar.warning(not_kept, icon=":material/cloud_off:")
    sidebar.image(image.rgb, width="stretch")
    sidebar.text(image_caption(image))  # st.text: a file's name is never read as Markdown
    for note in image.notes:
        sidebar.caption(f"ⓘ {note}")


def image_caption(image: DecodedImage) -> str:
    """Name, size and, for a sample, its credit: plain text, for st.text (not Markdown)."""
    width, height = image.size
    credit = next((s.credit for s in SAMPLES.values() if s.title == image.name), None)
    return f"{image.name} · {width}×{height}" + (f" · {credit}" if credit else "")
