"""User-supplied text (a file's name) inside Streamlit's Markdown, shown as the characters
typed: st.error, st.caption and image captions all render Markdown, with GitHub's extensions,
KaTeX, colour directives and icons."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation character, which then stands for
# itself: no bold, link, heading, list, HTML, KaTeX ($), colour directive (:red[...]) or icon
# (:material/...:) can start. Escaped colons also keep Streamlit from loading its emoji
# plugin, which looks for ":name:" in the raw text.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\t\f\v]")
_WORD_JOINER = "\u2060"  # invisible


def markdown_literal(text: str) -> str:
    """`text` escaped so that Markdown shows it as is, on one line. Not enough for text that may
    hold a URL: GitHub's autolinks turn a bare https://… into a link whatever its escapes."""
    return _ASCII_PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))


def markdown_code(text: str) -> str:
    """`text` as an inline code span, which nothing inside can leave: no autolink, emphasis,
    math or icon. The fence is longer than any run of backticks in `text`; the spaces inside
    it are dropped by the renderer (CommonMark 6.1)."""
    # Streamlit rewrites ":material/" in the raw source, code spans included.
    text = _LINE_BREAKS.sub(" ", text).replace(":material/", f":{_WORD_JOINER}material/")
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    return f"{fence} {text} {fence}"


def markdown_naming(message: str, name: str) -> str:
    """`message` escaped, each occurrence of the user-supplied `name` in it as a code span."""
    if not name:
        return markdown_literal(message)
    return markdown_code(name).join(markdown_literal(part) for part in message.split(name))
