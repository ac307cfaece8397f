"""Vision Explorer's entrypoint: page config, the shared sidebar, navigation."""

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.serving.allocator import keep_freed_memory
from app.serving.settings import setting_problems
from components.lessons import add_view_button, presenter_bar
from components.remembered import note_page_drawn
from components.sidebar import shared_sidebar
from components.workspace import forget_restored_choices, open_workspace, remember_in_browser, save_choices

keep_freed_memory()

# A file, not ":material/…:": Streamlit turns a Material icon favicon into a font host's URL,
# which an offline classroom cannot reach; a file is served by this server.
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"
st.set_page_config(page_title="Vision Explorer", page_icon=FAVICON, layout="wide")
# The README's command checks the settings before serving; `streamlit run` by hand does not.
if problems := setting_problems():
    st.error("The server's settings are wrong; fix them and restart:\n\n" + "\n\n".join(problems))
    st.stop()

navigation = st.navigation(
    {
        "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
                  st.Page("pages/lessons.py", title="Lessons", icon=":material/slideshow:")],
        "CNNs": [
            st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/layers:"),
            st.Page("pages/attributions.py", title="Attributions", icon=":material/highlight:"),
            st.Page("pages/atlas.py", title="Architecture atlas", icon=":material/account_tree:"),
            st.Page("pages/efficient_convolutions.py", title="Efficient convolutions", icon=":material/memory:"),
            st.Page("pages/channel_attention.py", title="Channel & spatial attention", icon=":material/tune:"),
            st.Page("pages/receptive_fields.py", title="Receptive fields", icon=":material/center_focus_strong:"),
        ],
        "Beyond classification": [
            st.Page("pages/dense_prediction.py", title="Dense prediction", icon=":material/texture:"),
            st.Page("pages/video.py", title="Video", icon=":material/movie:"),
        ],
        "Transformers": [
            st.Page("pages/vit_attention.py", title="ViT & DINO attention", icon=":material/visibility:"),
            st.Page("pages/swin_windows.py", title="Swin windows", icon=":material/grid_view:"),
            st.Page("pages/transformer_internals.py", title="Inside the Transformer", icon=":material/hub:"),
            st.Page("pages/detr.py", title="DETR", icon=":material/select_all:"),
        ],
        "Optimization & training": [
            st.Page("pages/optimizers.py", title="Optimizer race", icon=":material/route:"),
            st.Page("pages/training.py", title="Live training", icon=":material/monitoring:"),
            st.Page("pages/loss_landscape.py", title="Loss landscape", icon=":material/landscape:"),
        ],
    },
    expanded=True,  # every page of the course in view: folded, the last ones hid behind "View more"
)
# Before any widget: the page's choices come back from the workspace.
open_workspace()
# Presenting a lesson: its bar over every page; a scene's image and settings are set before
# the sidebar's widgets and the page's are drawn.
presenter_bar()
# Widgets drawn here, in the entrypoint, keep their state across pages.
shared_sidebar()
add_view_button(navigation.url_path or "home", navigation.title)
with st.sidebar:
    remember_in_browser()
try:
    navigation.run()
# A kept choice (or a lesson scene's) that no longer fits: its widget refuses it, or the page's
# code cannot use a value of that type. The page again, from the defaults; a second failure,
# with nothing put back left to forget, is a bug and is shown.
except (StreamlitAPIException, TypeError, ValueError) as refusal:
    if not forget_restored_choices(refusal):
        raise
    st.rerun()
finally:  # also after st.stop() or a rerun: what the student chose so far is kept
    save_choices()
    note_page_drawn()
