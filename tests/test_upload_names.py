"""A file's name is shown as typed, never as Markdown (issue 13, fault 5.6): st.error, captions
and image captions all render Markdown, so a name could make bold text, a live link or KaTeX.
The picture's name goes to st.text (no Markdown); the refusal names the file in a code span."""

import io
import re
import string

from PIL import Image
from streamlit.testing.v1 import AppTest

from components.markdown_literal import markdown_code, markdown_literal, markdown_naming
from tests.test_app_home import image_picker_alone

CRAFTED = "**bold** [x](http://evil) $x^2$ :red[red] <b>b</b> # :material/block: _i_.png"


def shown(name: str) -> str:
    return name.replace(":material/", ":\u2060material/")  # an invisible word joiner: no icon


def as_typed(markdown: str) -> str:
    """What CommonMark shows for `markdown`, checking that it holds no live syntax: outside code
    spans every ASCII punctuation character must come escaped by a backslash (and then stands
    for itself); a code span (a run of n backticks to the next run of exactly n) shows its
    content, less one space at each end (CommonMark 6.1)."""
    shown, position = [], 0
    while position < len(markdown):
        char = markdown[position]
        if char == "`":
            fence = re.match(r"`+", markdown[position:]).group()
            close = re.compile(rf"(?<!`){fence}(?!`)").search(markdown, position + len(fence))
            assert close, f"unclosed code span in {markdown!r}"
            content = markdown[position + len(fence): close.start()]
            assert content.startswith(" ") and content.endswith(" ")
            shown.append(content[1:-1])
            position = close.end()
            continue
        if char == "\\":
            position += 1
            char = markdown[position]
            assert char in string.punctuation, f"backslash before {char!r}"
        else:
            assert char not in string.punctuation, f"live {char!r} in {markdown!r}"
        shown.append(char)
        position += 1
    return "".join(shown)


def test_names_in_markdown_leave_no_live_syntax():
    no_url = CRAFTED.replace("http://evil", "evil")  # backslashes cannot stop GitHub's autolinks
    assert as_typed(markdown_literal(no_url)) == no_url
    assert as_typed(markdown_literal("a\nb\r\n\tc")) == "a b   c"  # one line: no headings or lists
    for name in (CRAFTED, "`tick`", "a ``two`` b", "```"):
        assert as_typed(markdown_code(name)) == shown(name)
    message = f"{CRAFTED} is odd; {CRAFTED}."
    assert as_typed(markdown_naming(message, CRAFTED)) == shown(message)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 200, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_crafted_name_is_shown_as_typed_under_the_picture_and_in_the_refusal():
    app = AppTest.from_function(image_picker_alone, default_timeout=60)
    app.run()
    app.sidebar.radio(key="image_source").set_value("Upload").run()
    app.sidebar.file_uploader(key="upload").upload(CRAFTED, png(), "image/png")
    app.run()
    assert not app.exception
    assert not app.sidebar.get("image")[0].proto.imgs[0].caption
    assert app.sidebar.text[0].value == f"{CRAFTED} · 120×90"  # st.text: never Markdown

    broken = "__init__ [link](https://x.y) $$e$$.png"
    app.sidebar.file_uploader(key="upload").set_value((broken, b"not a png at all", "image/png")).run()
    assert not app.exception
    message = app.sidebar.error[0].value
    assert message.endswith(" The previous image is still in use.")
    reason = message.removesuffix(" The previous image is still in use.")
    assert as_typed(reason).startswith(f"{broken} is not a picture that can be read")
    assert app.sidebar.text[0].value == f"{CRAFTED} · 120×90"
