"""User-supplied text (a file's name, a decoder's message) inside Streamlit's Markdown, shown as
the characters typed: st.error, st.caption and image captions all render Markdown."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation character, which then stands for
# itself: no bold, link, heading, list, HTML, KaTeX ($), colour directive (:red[...]) or icon
# (:material/...:) can start. Escaped colons also keep Streamlit from loading its emoji
# plugin, which looks for ":name:" in the raw text.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\t\f\v]")


def markdown_literal(text: str) -> str:
    """`text` escaped so that Markdown shows it as is, on one line."""
    return _ASCII_PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))
