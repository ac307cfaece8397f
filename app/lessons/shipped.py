"""The lessons that ship with the project: the YAML files of the repository's `lessons/` folder."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from app.lessons.lesson import Lesson, read_lesson

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"


def shipped_lesson_names() -> list[str]:
    """Each shipped lesson's name (its file's, without .yaml), in the folder's order."""
    return sorted(path.stem for path in LESSONS_DIR.glob("*.yaml"))


def shipped_lesson(name: str, pages: Collection[str]) -> Lesson:
    if name not in shipped_lesson_names():
        raise KeyError(f"no shipped lesson is called {name!r} ({', '.join(shipped_lesson_names())})")
    return read_lesson((LESSONS_DIR / f"{name}.yaml").read_text(encoding="utf-8"), pages)
