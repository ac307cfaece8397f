"""A lesson as a plain YAML file: a title and scenes, each a page of the app with its image, its
settings (widget values, as the workspace keeps them) and a note for the teacher.

    title: From LeNet to Swin
    scenes:
      - title: AlexNet's first filters
        page: feature_maps
        image: cat                     # a bundled sample; or {sha256: …, name: …}, an upload kept
        settings: {chosen_cnn: alexnet, fm_tab: First-layer filters}
        note: Krizhevsky et al. found oriented edges and colour blobs.

Reading checks everything a file can get wrong and says where (the scene's number and field),
within bounds on the file's size and the number of scenes, so a hostile file costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

import yaml

from app.samples import SAMPLES
from app.workspace import values

MAX_BYTES = 256 * 1024
MAX_SCENES = 100
MAX_NOTE = 4000


class LessonError(ValueError):
    """The file is not a lesson this app can play; the message says what and where."""


@dataclass(frozen=True)
class Scene:
    title: str
    page: str  # a page's file name under pages/, without .py
    # A bundled sample's name, or an upload kept in the workspace that made the lesson
    # ({"sha256": …, "name": …}); None keeps whatever image is on screen.
    image: str | Mapping[str, str] | None = None
    settings: Mapping[str, object] = field(default_factory=dict)
    note: str = ""  # for the teacher; never on the projected view


@dataclass(frozen=True)
class Lesson:
    title: str
    scenes: tuple[Scene, ...]

    def with_scene(self, scene: Scene) -> Lesson:
        if len(self.scenes) >= MAX_SCENES:
            raise LessonError(f"a lesson holds at most {MAX_SCENES} scenes")
        return replace(self, scenes=(*self.scenes, scene))

    def without_scene(self, index: int) -> Lesson:
        return replace(self, scenes=self.scenes[:index] + self.scenes[index + 1:])


def read_lesson(text: str | bytes, pages: Collection[str]) -> Lesson:
    """The lesson in a YAML text; LessonError for anything else. `pages` are the app's pages."""
    if len(text) > MAX_BYTES:
        raise LessonError(f"the file is {len(text) / 1024:,.0f} KB; a lesson is at most {MAX_BYTES // 1024} KB")
    try:
        data = yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - a SafeLoader without aliases
    except yaml.MarkedYAMLError as problem:  # where, and what, without YAML's echo of the text
        mark = problem.problem_mark or problem.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise LessonError(f"the file is not YAML this app reads{where}: {problem.problem or problem.context}") from None
    except yaml.YAMLError as problem:
        raise LessonError(f"the file is not YAML: {problem}") from None
    except RecursionError:
        raise LessonError("the file nests its lists too deeply") from None
    if not isinstance(data, dict):
        raise LessonError("a lesson is a mapping with a title and a list of scenes")
    title = _text(data.get("title"), "the lesson's title", 200)
    scenes = data.get("scenes")
    if not isinstance(scenes, list) or not scenes:
        raise LessonError("a lesson needs a list of scenes, at least one")
    if len(scenes) > MAX_SCENES:
        raise LessonError(f"the lesson has {len(scenes)} scenes; at most {MAX_SCENES}")
    return Lesson(title, tuple(_scene(raw, number, pages) for number, raw in enumerate(scenes, start=1)))


class _PlainLoader(yaml.SafeLoader):
    """YAML's safe subset without aliases: nine nested aliases of nine make a billion items to
    walk (the "billion laughs"), and a lesson has no use for them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a lesson",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


def lesson_text(lesson: Lesson) -> str:
    """The YAML file of a lesson (what `read_lesson` reads back)."""
    scenes = []
    for scene in lesson.scenes:
        entry: dict[str, object] = {"title": scene.title, "page": scene.page}
        if scene.image is not None:
            entry["image"] = scene.image if isinstance(scene.image, str) else dict(scene.image)
        entry["settings"] = {key: _listed(value) for key, value in scene.settings.items()}
        if scene.note:
            entry["note"] = scene.note
        scenes.append(entry)
    return yaml.safe_dump({"title": lesson.title, "scenes": scenes}, allow_unicode=True, sort_keys=False, width=100)


def _scene(raw, number: int, pages: Collection[str]) -> Scene:
    where = f"scene {number}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where} is not a mapping of title, page, image, settings and note")
    unknown = set(raw) - {"title", "page", "image", "settings", "note"}
    if unknown:
        raise LessonError(f"{where} has fields this app does not know: {', '.join(sorted(map(str, unknown)))}")
    page = raw.get("page")
    if page not in pages:
        raise LessonError(f"{where}'s page {page!r} is not one of this app's pages ({', '.join(sorted(pages))})")
    settings = raw.get("settings") or {}
    if not isinstance(settings, dict) or not all(isinstance(key, str) for key in settings):
        raise LessonError(f"{where}'s settings are not a mapping of widget keys to values")
    bad = [key for key, value in settings.items() if not values.storable(value)]
    if bad:
        raise LessonError(f"{where}'s settings {', '.join(bad[:5])} are not plain values (text, numbers, lists)")
    return Scene(_text(raw.get("title"), f"{where}'s title", 200), page, _image(raw.get("image"), where),
                 settings, _text(raw.get("note", ""), f"{where}'s note", MAX_NOTE, empty=True))


def _image(raw, where: str) -> str | dict[str, str] | None:
    if raw is None or (isinstance(raw, str) and raw in SAMPLES):
        return raw
    if (isinstance(raw, dict) and set(raw) == {"sha256", "name"} and all(isinstance(v, str) for v in raw.values())
            and re.fullmatch("[0-9a-f]{64}", raw["sha256"]) and 0 < len(raw["name"]) <= 255):
        return raw
    raise LessonError(f"{where}'s image {raw!r} is neither a bundled sample ({', '.join(SAMPLES)}) nor a kept "
                      "upload ({sha256: …, name: …})")


def _text(raw, what: str, limit: int, empty: bool = False) -> str:
    if not isinstance(raw, str) or (not empty and not raw.strip()):
        raise LessonError(f"{what} must be text" + ("" if empty else ", not empty"))
    if len(raw) > limit:
        raise LessonError(f"{what} is {len(raw):,} characters; at most {limit:,}")
    return raw


def _listed(value):
    """YAML's safe form has lists, not tuples: a range slider's pair is written as a list."""
    return [_listed(item) for item in value] if isinstance(value, (list, tuple)) else value
