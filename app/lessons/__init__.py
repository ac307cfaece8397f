"""Lessons: a teacher's scenes (a page, an image, its settings, a note) in a plain YAML file."""
