"""The clip the video page works on: a sample made by the project or an upload, kept in the
workspace (a sample by its key, an upload by its bytes, stored once under their SHA-256) so that
a reload or a later visit finds it again."""

from __future__ import annotations

import hashlib
import json

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.training.fashion_mnist import DatasetMissing
from app.video.decode import ACCEPTED_EXTENSIONS, Clip, VideoRejected, decode_clip
from app.video.samples import CLIP_SAMPLES, sample_clip
from app.workspace.blobs import BlobMissing
from components.markdown_literal import markdown_naming
from components.server_state import STORE
from components.upload_store import release_upload
from components.workspace import keep_source, workspace_id

UPLOAD = "Your clip"
_CURRENT = "_current_clip"
_MESSAGE = "_clip_message"  # why the last upload was refused, or why the clip was not kept
_STORED = "clip"  # in the workspace: {"sample": key} or {"sha256": digest, "name": file name}
DEFAULT = "pan_zoom"


def clip_picker() -> Clip:
    """The source chooser and uploader; returns the clip to show (the last good one)."""
    choices = [*CLIP_SAMPLES, UPLOAD]
    if "video_source" not in st.session_state:  # a new session: the choice that made the kept clip
        kept = _kept()
        st.session_state["video_source"] = kept.get("sample", UPLOAD if "sha256" in kept else DEFAULT)
    source = st.radio("Clip", choices, format_func=lambda c: CLIP_SAMPLES.get(c, c), horizontal=True,
                      key="video_source")
    if source == UPLOAD:
        upload = st.file_uploader("A short video (mp4, webm, mov, mkv, avi, animated gif; the first seconds are used)",
                                  type=list(ACCEPTED_EXTENSIONS), key="video_upload")
        if isinstance(upload, UploadedFile):
            _offer(upload.getvalue(), upload.name)
            release_upload(upload)
    elif _kept().get("sample") != source:
        _use_sample(source)
    if message := st.session_state.get(_MESSAGE):
        st.error(message, icon=":material/block:")
    return current_clip()


def current_clip() -> Clip:
    """The session's clip: the workspace's, else the default sample."""
    if _CURRENT not in st.session_state:
        st.session_state[_CURRENT] = _restored() or sample_clip(DEFAULT)
    return st.session_state[_CURRENT]


def _kept() -> dict:
    return json.loads(STORE.values(workspace_id()).get(_STORED, "{}"))


def _restored() -> Clip | None:
    stored = _kept()
    try:
        if "sample" in stored:
            return sample_clip(stored["sample"])
        if "sha256" in stored:
            return decode_clip(STORE.blob(stored["sha256"]), stored["name"])
    except (BlobMissing, VideoRejected, DatasetMissing, KeyError) as problem:
        st.session_state[_MESSAGE] = f"Your clip could not be brought back ({problem}); a sample is shown."
    return None


def _use_sample(key: str) -> None:
    try:
        clip = sample_clip(key)
    except DatasetMissing as missing:
        st.session_state[_MESSAGE] = str(missing)
        return
    st.session_state[_CURRENT] = clip
    st.session_state.pop(_MESSAGE, None)
    _keep({"sample": key}, None)


def _offer(data: bytes, name: str) -> None:
    """Makes the upload the current clip unless it is refused; a refused file leaves the
    previous clip in place and its reason on screen."""
    digest = hashlib.sha256(data).hexdigest()
    if digest == current_clip().sha256:
        return
    try:
        with st.spinner(f"Decoding {name} (the first seconds; up to about two for a large clip)", show_time=True):
            clip = decode_clip(data, name)
    except VideoRejected as refused:
        st.session_state[_MESSAGE] = f"{markdown_naming(str(refused), name)} The previous clip is still in use."
        return
    st.session_state[_CURRENT] = clip
    st.session_state.pop(_MESSAGE, None)
    _keep({"name": name}, data)


def _keep(stored: dict, data: bytes | None) -> None:
    """Makes the clip the workspace's, replacing (and releasing) the one kept before."""
    refused = keep_source(_STORED, stored, data)
    if refused:
        st.session_state[_MESSAGE] = f"This clip is used but not kept for your next visit: {refused}."
