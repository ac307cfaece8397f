"""Lessons in AppTest: the shipped lesson presented from start to end, each scene's settings in
force on its page; a view added to the workspace's lesson comes back as it was."""

import pytest

from app.lessons.shipped import shipped_lesson
from components.lessons import PAGES
from tests.conftest import app_at, stay_on_page

TITLES = {"training": "Live training", "feature_maps": "Feature maps", "loss_landscape": "Loss landscape",
          "efficient_convolutions": "Efficient convolutions", "optimizers": "Optimizer race",
          "vit_attention": "ViT & DINO attention", "transformer_internals": "Inside the Transformer",
          "swin_windows": "Swin windows"}


@pytest.fixture
def app(served_app):
    return served_app


def open_lessons(app):
    return stay_on_page(app.switch_page("pages/lessons.py").run())


def bar_text(app) -> str:
    return " ".join(m.value for m in app.markdown)


def test_the_shipped_lesson_plays_from_start_to_end_with_each_scene_as_written(app):
    lesson = shipped_lesson("course", PAGES)
    open_lessons(app)
    assert not app.exception
    app.selectbox(key="lessons_choice").set_value("course").run()
    app.button(key="lessons_present").click().run()
    for number, scene in enumerate(lesson.scenes, start=1):
        assert not app.exception, scene.title
        assert f"scene {number} of {len(lesson.scenes)}: {scene.title}" in bar_text(app)
        assert app.title[0].value == TITLES[scene.page], scene.title
        for key, value in scene.settings.items():
            assert app.session_state[key] == value, (scene.title, key)
        assert app.session_state["sample_key"] == scene.image
        assert app.query_params["scene"] == str(number) and app.query_params["lesson"] == "course"
        assert app.button(key="lesson_previous").disabled == (number == 1)
        if number < len(lesson.scenes):
            app.button(key="lesson_next").click().run()
    assert app.button(key="lesson_next").disabled
    app.button(key="lesson_previous").click().run()
    assert f"scene {len(lesson.scenes) - 1} of" in bar_text(app)
    app.button(key="lesson_end").click().run()
    assert not app.exception and app.title[0].value == "Lessons"
    assert "scene" not in app.query_params and not any(b.key == "lesson_next" for b in app.button)


def test_a_view_added_to_the_lesson_comes_back_as_it_was(app):
    app.switch_page("pages/feature_maps.py").run()
    app.selectbox(key="chosen_cnn_widget").set_value("mobilenet_v2").run()
    app.session_state["fm_tab"] = "Statistics"
    app.run()
    app.button(key="lesson_add").click().run()
    assert not app.exception
    app.selectbox(key="chosen_cnn_widget").set_value("resnet50").run()  # the class moves on
    open_lessons(app)
    assert app.selectbox(key="lessons_choice").value == "workspace"  # the lesson being built comes first
    assert "Feature maps · Cat" in app.dataframe[0].value["title"].tolist()[0]
    app.button(key="lessons_present").click().run()
    assert not app.exception and app.title[0].value == "Feature maps"
    assert app.selectbox(key="chosen_cnn_widget").value == "mobilenet_v2"
    assert app.session_state["fm_tab"] == "Statistics"
    assert "scene 1 of 1" in bar_text(app)


def test_a_scene_s_note_is_only_in_the_notes_window(app):
    lesson = shipped_lesson("course", PAGES)
    open_lessons(app)
    app.button(key="lessons_present").click().run()
    projected = bar_text(app) + " ".join(c.value for c in app.caption)
    assert lesson.scenes[0].note[:40] not in projected
    notes = app_at()
    notes.query_params["w"] = app.query_params["w"]
    notes.query_params["notes"] = "1"
    notes.switch_page("pages/lessons.py").run()
    assert not notes.exception
    assert lesson.scenes[0].note in " ".join(m.value for m in notes.markdown)
    app.button(key="lesson_next").click().run()
    notes.run()
    assert lesson.scenes[1].note in " ".join(m.value for m in notes.markdown)


def test_a_scene_whose_settings_do_not_fit_its_page_opens_it_with_the_defaults(app):
    from components.server_state import STORE

    STORE.save_values(app.query_params["w"], {"lesson": "title: Hostile\nscenes:\n"
                      "  - {title: Wrong types, page: optimizers, settings: {race_steps: many, race_surface: Moon,"
                      " race_picks: [1, 2]}}\n"})
    open_lessons(app)
    app.selectbox(key="lessons_choice").set_value("workspace").run()
    app.button(key="lessons_present").click().run()
    assert not app.exception
    assert app.title[0].value == "Optimizer race" and "scene 1 of 1: Wrong types" in bar_text(app)
    assert app.slider(key="race_steps").value == 200 and app.selectbox(key="race_surface").value == "Quadratic bowl"


def test_a_link_to_a_shipped_lesson_opens_it_on_the_lessons_page(app):
    from components.server_state import STORE

    STORE.save_values(app.query_params["w"], {"lesson": "title: Mine\nscenes:\n  - {title: A, page: home}\n"})
    assert open_lessons(app).selectbox(key="lessons_choice").value == "workspace"  # your own comes first
    fresh = app_at()
    fresh.query_params.update(w=app.query_params["w"], lesson="course")
    open_lessons(fresh)
    assert fresh.selectbox(key="lessons_choice").value == "course"
    app = fresh
    assert app.code[0].value.endswith("?lesson=course")
    assert not any(b.key == "lesson_next" for b in app.button)  # a link to a lesson is not presenting it
