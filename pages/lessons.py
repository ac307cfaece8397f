"""Lessons: a teacher's scenes in order, presented one by one on a projector."""

import time
from dataclasses import replace

import streamlit as st

from app.lessons.lesson import LessonError, lesson_text, read_lesson
from components.lessons import (
    PAGES,
    WORKSPACE,
    lesson_keys,
    lesson_named,
    presented_now,
    save_workspace_lesson,
    start_presenting,
    workspace_lesson,
)
from components.markdown_literal import markdown_naming
from components.workspace import workspace_id

st.title("Lessons")


@st.fragment(run_every=2)
def teachers_notes():
    """The notes window: follows the scene the presenter of this workspace shows."""
    now = presented_now()
    if now is None:
        st.info("Nothing is being presented from this workspace. Start presenting in the other window; this one "
                "then shows each scene's note.", icon=":material/speaker_notes:")
        return
    key, index = now
    try:
        lesson = lesson_named(key)
        scene = lesson.scenes[index]
    except (KeyError, LessonError, IndexError):
        st.warning("The lesson being presented cannot be read here.")
        return
    st.subheader(f"Scene {index + 1} of {len(lesson.scenes)}: {scene.title}")
    st.markdown(scene.note or "*No note for this scene.*")
    if index + 1 < len(lesson.scenes):
        st.caption(f"Next: {lesson.scenes[index + 1].title}")
    st.caption(f"Updated {time.strftime('%H:%M:%S')}; every 2 s.")


if st.query_params.get("notes"):
    st.caption("The teacher's notes for the lesson presented from this workspace: keep this window on your own "
               "screen; the projected one never shows them.")
    teachers_notes()
    st.stop()

st.caption("A lesson is a list of scenes: a page, its image and its settings, and a note for you. Present it and the "
           "class sees each scene as it was added, in large type, with ← and → to move; your notes stay in "
           "another window.")

keys = lesson_keys()
lessons = {key: lesson_named(key) for key in keys}  # each file read once a run
titles = {key: f"{lessons[key].title} ({'your lesson' if key == WORKSPACE else 'ships with the app'})"
          for key in keys}
asked = st.query_params.get("lesson")
if asked in keys and st.session_state.get("_lessons_link") != asked:
    # A link to a lesson opens it here, over the workspace's last choice; once, so that the
    # teacher can choose another while the link is still in the address bar.
    st.session_state["lessons_choice"] = st.session_state["_lessons_link"] = asked
key = st.selectbox("Lesson", keys, format_func=titles.get, key="lessons_choice")
lesson = lessons[key]

start_col, scene_col, notes_col = st.columns([1, 2, 2], vertical_alignment="bottom")
first = scene_col.selectbox("From scene", range(len(lesson.scenes)), key=f"lessons_from_{key}",
                            format_func=lambda i: f"{i + 1}. {lesson.scenes[i].title}")
if start_col.button("Present", type="primary", icon=":material/slideshow:", key="lessons_present"):
    start_presenting(key, first)
notes_col.link_button("Teacher's notes (another window)", f"?w={workspace_id()}&notes=1",
                      icon=":material/speaker_notes:", help="Open it on your own screen before presenting")

st.dataframe([{"scene": i + 1, "title": s.title, "page": s.page, "image": s.image if isinstance(s.image, str) or
               s.image is None else s.image["name"], "settings": len(s.settings), "note": s.note}
              for i, s in enumerate(lesson.scenes)], hide_index=True,
             column_config={"note": st.column_config.TextColumn(width="large")})
if key != WORKSPACE:
    st.caption("A link that opens this lesson here (copy it with the button on its right):")
    st.code(f"{(st.context.url or '').split('?')[0]}?lesson={key}", language=None)

st.subheader("Your lesson")
own = workspace_lesson()
if own is None:
    st.caption("Empty: on any page, **Add this view to the lesson** (in the sidebar) adds what is on screen as the "
               "next scene. Or load a lesson file:")
else:
    count = f"{len(own.scenes)} scene" + ("s" if len(own.scenes) > 1 else "")
    st.caption(f"{count}, kept in this workspace; **Share this view** gives a link to a copy with it.")
    scene_index = st.selectbox("Scene", range(len(own.scenes)), key="lessons_edit_scene",
                               format_func=lambda i: f"{i + 1}. {own.scenes[i].title}")
    with st.form("lessons_edit"):
        title = st.text_input("Title", own.scenes[scene_index].title, max_chars=200)
        note = st.text_area("Note for the teacher", own.scenes[scene_index].note, max_chars=4000)
        save, remove = st.columns(2)
        saved = save.form_submit_button("Save the scene", icon=":material/save:")
        removed = remove.form_submit_button("Remove the scene", icon=":material/delete:")
    if saved or removed:
        scenes = list(own.scenes)
        if removed:
            changed = own.without_scene(scene_index)
        else:
            scenes[scene_index] = replace(scenes[scene_index], title=title.strip() or scenes[scene_index].title,
                                          note=note)
            changed = replace(own, scenes=tuple(scenes))
        refused = save_workspace_lesson(changed if changed.scenes else None)
        if refused:
            st.error(f"Not kept: {refused}")
        else:
            st.rerun()
    st.download_button("Download the lesson (YAML)", lesson_text(own), file_name="lesson.yaml",
                       mime="application/yaml", icon=":material/download:", on_click="ignore",
                       key="lessons_download")
upload = st.file_uploader("Load a lesson file (YAML): it becomes your lesson", type=["yaml", "yml"],
                          key="lessons_upload")
if upload is not None:
    if st.session_state.get("_lessons_loaded", (None, None))[0] != upload.file_id:
        try:
            problem = save_workspace_lesson(read_lesson(upload.getvalue(), PAGES))
        except LessonError as refused:
            problem = markdown_naming(f"{upload.name} is not a lesson this app can play: {refused}", upload.name)
        st.session_state["_lessons_loaded"] = (upload.file_id, problem)
        if problem is None:
            st.rerun()
    if problem := st.session_state["_lessons_loaded"][1]:
        st.error(problem, icon=":material/block:")
