"""A file's name is shown as typed, never as Markdown (issue 13, fault 5.6): st.error, captions
and image captions all render Markdown, so a name could make bold text, a live link or KaTeX."""

import io
import string

from PIL import Image
from streamlit.testing.v1 import AppTest

from components.markdown_literal import markdown_literal
from tests.test_app_home import image_picker_alone

CRAFTED = "**bold** [x](http://evil) $x^2$ :red[red] <b>b</b> # :material/block: _i_.png"


def as_typed(markdown: str) -> str:
    """What CommonMark shows for `markdown`, checking that it holds no live syntax: every ASCII
    punctuation character must come escaped by a backslash (which then stands for itself)."""
    shown, escaped = [], False
    for char in markdown:
        if escaped:
            assert char in string.punctuation, f"backslash before {char!r}"
            shown.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            assert char not in string.punctuation, f"live {char!r} in {markdown!r}"
            shown.append(char)
    return "".join(shown)


def test_markdown_literal_leaves_no_live_syntax():
    assert as_typed(markdown_literal(CRAFTED)) == CRAFTED
    assert as_typed(markdown_literal("a\nb\r\n\tc")) == "a b   c"  # one line: no headings or lists


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 200, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_crafted_name_is_shown_as_typed_in_the_caption_and_in_the_refusal():
    app = AppTest.from_function(image_picker_alone, default_timeout=60)
    app.run()
    app.sidebar.radio(key="image_source").set_value("Upload").run()
    app.sidebar.file_uploader(key="upload").upload(CRAFTED, png(), "image/png")
    app.run()
    assert not app.exception
    caption = app.sidebar.get("image")[0].proto.imgs[0].caption
    name, size = caption.split(" · ")
    assert as_typed(name) == CRAFTED and size == "120×90"

    broken = "__init__ [link](https://x.y) $$e$$.png"
    app.sidebar.file_uploader(key="upload").set_value((broken, b"not a png at all", "image/png")).run()
    assert not app.exception
    message = app.sidebar.error[0].value
    assert message.endswith(" The previous image is still in use.")
    reason = message.removesuffix(" The previous image is still in use.")
    assert as_typed(reason).startswith(f"{broken} is not a picture that can be read")
    assert as_typed(app.sidebar.get("image")[0].proto.imgs[0].caption.split(" · ")[0]) == CRAFTED
