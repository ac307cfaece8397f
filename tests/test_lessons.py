"""Lesson files: what they read back as, and every way a file can be wrong, refused with where."""

import pytest

from app.lessons.lesson import MAX_BYTES, MAX_SCENES, Lesson, LessonError, Scene, lesson_text, read_lesson
from app.lessons.shipped import shipped_lesson, shipped_lesson_names
from components.lessons import PAGES

SCENE = "  - {title: A, page: feature_maps, image: cat, settings: {chosen_cnn: alexnet}}\n"


def test_a_lesson_reads_back_what_was_written():
    lesson = Lesson("Week 3", (
        Scene("Filters", "feature_maps", "cat", {"chosen_cnn": "alexnet", "fm_top": 12, "fm_smooth": True}, "Look"),
        Scene("Race", "optimizers", None, {"race_optimizers": ["SGD", "Adam"], "race_window": (0.5, 2.0),
                                           "nothing": None}),
        Scene("Upload", "home", {"sha256": "ab" * 32, "name": "dog.jpg"}, {}, "multi\nline: note"),
    ))
    again = read_lesson(lesson_text(lesson), PAGES)
    assert again.title == "Week 3" and [s.title for s in again.scenes] == ["Filters", "Race", "Upload"]
    assert again.scenes[0] == lesson.scenes[0]
    # YAML has lists, not tuples: a range slider's pair comes back a list, which the slider takes.
    assert again.scenes[1].settings == {"race_optimizers": ["SGD", "Adam"], "race_window": [0.5, 2.0],
                                        "nothing": None}
    assert again.scenes[2].image == {"sha256": "ab" * 32, "name": "dog.jpg"}
    assert again.scenes[2].note == "multi\nline: note"


@pytest.mark.parametrize("text, words", [
    ("title: [unclosed", "not YAML"),
    ("- just a list", "a mapping with a title"),
    ("title: T\nscenes: []", "at least one"),
    ("title: ''\nscenes:\n" + SCENE, "title must be text, not empty"),
    ("title: T\nscenes:\n  - {title: A, page: nowhere}", "scene 1's page 'nowhere' is not one of this app's pages"),
    ("title: T\nscenes:\n" + SCENE + "  - {title: B, page: home, colour: red}", "scene 2 has fields this app does not"),
    ("title: T\nscenes:\n  - {title: A, page: home, image: moon}", "scene 1's image 'moon' is neither"),
    ("title: T\nscenes:\n  - {title: A, page: home, image: {sha256: ../../etc/passwd, name: x}}", "is neither"),
    ("title: T\nscenes:\n  - {title: A, page: home, settings: {k: {nested: map}}}", "settings k are not plain"),
    ("title: T\nscenes:\n  - {title: A, page: home, settings: [1, 2]}", "not a mapping of widget keys"),
    ("title: T\nscenes:\n  - {title: A, page: home, note: " + "x" * 4001 + "}", "note is 4,001 characters"),
    ("!!python/object/apply:os.system ['echo pwned']", "not YAML"),
    ("a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\ntitle: T\nscenes: [*b]",
     "aliases (*name) are not allowed"),
    ("[" * 20000 + "]" * 20000, "nests its lists too deeply"),
])
def test_a_wrong_file_is_refused_saying_what_and_where(text, words):
    with pytest.raises(LessonError, match=None) as refused:
        read_lesson(text, PAGES)
    assert words in str(refused.value)


def test_size_and_scene_count_are_bounded():
    with pytest.raises(LessonError, match="at most 256 KB"):
        read_lesson("#" * (MAX_BYTES + 1), PAGES)
    too_many = "title: T\nscenes:\n" + SCENE * (MAX_SCENES + 1)
    with pytest.raises(LessonError, match=f"{MAX_SCENES + 1} scenes; at most {MAX_SCENES}"):
        read_lesson(too_many, PAGES)
    lesson = read_lesson("title: T\nscenes:\n" + SCENE * MAX_SCENES, PAGES)
    with pytest.raises(LessonError, match="at most 100 scenes"):
        lesson.with_scene(lesson.scenes[0])


def test_the_shipped_lesson_follows_the_course_on_pages_that_exist():
    assert shipped_lesson_names() == ["course"]
    lesson = shipped_lesson("course", PAGES)
    pages = [scene.page for scene in lesson.scenes]
    assert pages == ["training", "feature_maps", "feature_maps", "loss_landscape", "efficient_convolutions",
                     "optimizers", "training", "vit_attention", "transformer_internals", "swin_windows"]
    assert all(scene.note for scene in lesson.scenes)
