"""Lessons in the app: the workspace's own lesson (built with "Add this view to the lesson"),
the shipped ones, and presenter mode.

Presenting, every page shows a bar with the scene's place and title, Previous / Next (also the
left and right arrow keys, Streamlit's button shortcuts) and End; the page is drawn in the
projector theme (larger type, thicker lines, no sidebar) and the teacher's notes are not on it:
they are on the Lessons page opened with `?notes=1` in another window, which follows the scene
through the workspace. Where the presenter is travels in the URL (`lesson`, `scene`), so a
reload comes back to the same scene, with the choices the workspace kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from app.lessons.lesson import Lesson, LessonError, Scene, lesson_text, read_lesson
from app.lessons.shipped import shipped_lesson, shipped_lesson_names
from app.samples import SAMPLES
from app.workspace.store import ReadOnlyWorkspace, StoreFull, UnknownWorkspace
from components.image_picker import image_source_now, show_image
from components.server_state import STORE
from components.workspace import current_choices, put_back_choices, workspace_id, writable_workspace_id

PAGES = frozenset(path.stem for path in (Path(__file__).resolve().parents[1] / "pages").glob("*.py"))
WORKSPACE = "workspace"  # the key of the workspace's own lesson; a shipped one's is its name
_LESSON = "lesson"  # in the workspace: the YAML of its own lesson
_PRESENTING = "presenting"  # in the workspace: {"lesson", "scene"}, for the notes window
_NOW = "_presenting"  # in the session: (lesson key, scene index)
_START = "_presenting_from"  # in the session: where the Lessons page asked to start
# Choices a scene does not carry: the image is the scene's own field, the rest are this machinery's.
_NOT_SETTINGS = ("image_source", "sample_key", "lesson_", "lessons_")


def workspace_lesson() -> Lesson | None:
    text = STORE.values(workspace_id()).get(_LESSON)
    if text is None:
        return None
    try:
        return read_lesson(text, PAGES)
    except LessonError as problem:
        st.warning(f"This workspace's lesson could not be read back ({problem}).", icon=":material/warning:")
        return None


def save_workspace_lesson(lesson: Lesson | None) -> str | None:
    """Keeps (or, with None, removes) the workspace's lesson; returns why not, if it cannot."""
    try:
        workspace = writable_workspace_id()
        if lesson is None:
            STORE.delete_values(workspace, [_LESSON])
        else:
            STORE.save_values(workspace, {_LESSON: lesson_text(lesson)})
    except (StoreFull, ReadOnlyWorkspace, UnknownWorkspace) as problem:
        return str(problem)
    return None


def lesson_named(key: str) -> Lesson:
    """LessonError or KeyError when it is gone or unreadable."""
    if key == WORKSPACE:
        lesson = workspace_lesson()
        if lesson is None:
            raise KeyError("this workspace has no lesson")
        return lesson
    return shipped_lesson(key, PAGES)


def lesson_keys() -> list[str]:
    """The workspace's own lesson first (the one a teacher is building), then the shipped ones."""
    return [*([WORKSPACE] if _LESSON in STORE.values(workspace_id()) else []), *shipped_lesson_names()]


def add_view_button(page: str, title: str) -> None:
    """In the sidebar: the page on screen, its image and every choice, as the next scene of the
    workspace's lesson."""
    if st.sidebar.button("Add this view to the lesson", icon=":material/playlist_add:", key="lesson_add",
                         help="The page, its image and its settings as the next scene of your lesson "
                              "(Lessons page: notes, order, presenting, the file)"):
        settings = {key: value for key, value in current_choices().items() if not key.startswith(_NOT_SETTINGS)}
        image = image_source_now()
        lesson = workspace_lesson() or Lesson("My lesson", ())
        named = SAMPLES[image].title if isinstance(image, str) else image["name"]
        try:
            lesson = lesson.with_scene(Scene(f"{title} · {named}", page, image, settings))
        except LessonError as full:
            st.sidebar.error(str(full))
            return
        refused = save_workspace_lesson(lesson)
        if refused:
            st.sidebar.error(f"The scene was not kept: {refused}")
        else:
            st.toast(f"Scene {len(lesson.scenes)} of your lesson: {title}.", icon=":material/playlist_add_check:")


def start_presenting(key: str, index: int) -> None:
    """Opens scene `index` of lesson `key` as it was added, in presenter mode, from the next run:
    a scene sets the sidebar's image widgets, which this run has drawn already."""
    st.session_state[_START] = (key, index)
    st.rerun()


def presenter_bar() -> None:
    """Before the sidebar and the page: in presenter mode, the bar, the projector theme and the
    keys; also takes a presenter's place back from the URL after a reload."""
    if start := st.session_state.pop(_START, None):
        try:
            _show_scene(start[0], lesson_named(start[0]), start[1])
        except (KeyError, LessonError, IndexError) as gone:
            st.warning(f"That lesson cannot be presented ({gone}).", icon=":material/warning:")
    now = st.session_state.get(_NOW)
    if now is None and "lesson" in st.query_params and "scene" in st.query_params:
        try:
            now = (st.query_params["lesson"], int(st.query_params["scene"]) - 1)
        except ValueError:
            now = None
    if now is None:
        return
    key, index = now
    try:
        lesson = lesson_named(key)
    except (KeyError, LessonError) as gone:
        st.session_state.pop(_NOW, None)
        st.warning(f"The lesson being presented cannot be opened any more ({gone}).", icon=":material/warning:")
        return
    index = min(max(index, 0), len(lesson.scenes) - 1)
    st.session_state[_NOW] = (key, index)
    st.query_params["lesson"], st.query_params["scene"] = key, str(index + 1)
    _projector_theme()
    place, back, forward, end = st.columns([5, 2, 2, 1.3], vertical_alignment="center")
    place.markdown(f"**{lesson.title}** · scene {index + 1} of {len(lesson.scenes)}: "
                   f"{lesson.scenes[index].title}")
    if back.button("Previous", icon=":material/arrow_back:", key="lesson_previous", disabled=index == 0,
                   width="stretch", shortcut="Left"):
        _show_scene(key, lesson, index - 1)
    if forward.button("Next", icon=":material/arrow_forward:", key="lesson_next",
                      disabled=index == len(lesson.scenes) - 1, width="stretch", shortcut="Right"):
        _show_scene(key, lesson, index + 1)
    if end.button("End", icon=":material/close:", key="lesson_end", width="stretch"):
        stop_presenting()
        st.switch_page("pages/lessons.py")


def stop_presenting() -> None:
    st.session_state.pop(_NOW, None)
    for name in ("lesson", "scene"):
        st.query_params.pop(name, None)
    _announce(None)


def presented_now() -> tuple[str, int] | None:
    """(lesson key, scene index) the presenter of this workspace is at, for the notes window."""
    text = STORE.values(workspace_id()).get(_PRESENTING)
    if not text:
        return None
    try:
        found = json.loads(text)
        return str(found["lesson"]), int(found["scene"])
    except (ValueError, KeyError, TypeError):
        return None


def _show_scene(key: str, lesson: Lesson, index: int) -> None:
    scene = lesson.scenes[index]
    put_back_choices(dict(scene.settings))
    if scene.image is not None and (missing := show_image(scene.image)):
        st.toast(missing, icon=":material/broken_image:")
    st.session_state[_NOW] = (key, index)
    _announce((key, index))
    st.switch_page(f"pages/{scene.page}.py")


def _announce(now: tuple[str, int] | None) -> None:
    """Tells the notes window (another session on this workspace) which scene is on screen."""
    try:
        workspace = writable_workspace_id()
        if now is None:
            STORE.delete_values(workspace, [_PRESENTING])
        else:
            STORE.save_values(workspace, {_PRESENTING: json.dumps({"lesson": now[0], "scene": now[1]})})
    except (StoreFull, ReadOnlyWorkspace, UnknownWorkspace):
        pass  # the notes window then stays on the scene it shows; the projected view is unaffected


# Streamlit sizes its text in rem: a larger root size enlarges every page's text and widgets at
# once. Plotly writes its sizes on each element, so its lines and labels are set here too.
_THEME = """
<style>
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }
.js-plotly-plot .scatterlayer .js-line { stroke-width: 4px !important; }
.js-plotly-plot .xtick text, .js-plotly-plot .ytick text, .js-plotly-plot .legendtext,
.js-plotly-plot .cbaxis text { font-size: 17px !important; }
.js-plotly-plot .gtitle, .js-plotly-plot .g-xtitle text, .js-plotly-plot .g-ytitle text { font-size: 20px !important; }
</style>
"""
def _projector_theme() -> None:
    st.html(_THEME)
