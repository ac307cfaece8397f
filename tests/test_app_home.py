"""The entrypoint and Home page in Streamlit's AppTest (no browser)."""

import hashlib
import io

import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

import pretrained
from tests.conftest import ROOT, app_at, chart_spec, figure_text, notebook_reproduces

PAGES = ["pages/feature_maps.py", "pages/attributions.py", "pages/atlas.py", "pages/efficient_convolutions.py",
         "pages/channel_attention.py",
         "pages/receptive_fields.py", "pages/dense_prediction.py", "pages/video.py",
         "pages/vit_attention.py", "pages/swin_windows.py", "pages/transformer_internals.py", "pages/detr.py",
         "pages/optimizers.py", "pages/training.py",
         "pages/loss_landscape.py"]


@pytest.fixture
def app():
    return app_at(timeout_s=120)


def test_home_shows_the_cat_and_its_top5(app):
    assert app.title[0].value == "Vision Explorer"
    assert "tiger cat" in figure_text(app) and "Egyptian cat" in figure_text(app)
    assert not app.error  # EfficientNet-Lite0 is trained: no untrained banner
    zoo = app.dataframe[0].value
    assert len(zoo) == len(pretrained.list_specs())
    assert zoo.set_index("Model").loc["EfficientNet-Lite0", "Weights"] == "offline-ready"


def image_picker_alone():
    # AppTest (Streamlit 1.67) drops the entrypoint's sidebar on reruns under st.navigation,
    # so the picker's interaction is tested on its own; the browser test covers it in the app.
    from components.image_picker import image_picker
    from components.workspace import open_workspace

    open_workspace()
    image_picker()


def test_an_upload_replaces_the_image_and_a_broken_one_keeps_it():
    app = AppTest.from_function(image_picker_alone, default_timeout=60)
    app.run()
    app.sidebar.radio(key="image_source").set_value("Upload").run()
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 200, 40)).save(buffer, format="PNG")
    app.sidebar.file_uploader(key="upload").upload("green.png", buffer.getvalue(), "image/png")
    app.run()
    assert not app.exception
    assert app.sidebar.text[0].value == "green.png · 120×90"
    app.sidebar.file_uploader(key="upload").set_value(("broken.png", b"not a png at all", "image/png")).run()
    assert not app.exception
    assert "` broken.png ` is not a picture" in app.sidebar.error[0].value
    assert app.sidebar.text[0].value == "green.png · 120×90"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens(app, page):
    app.switch_page(page).run()
    assert not app.exception
    assert app.title


def test_the_models_of_a_lesson_stay_loaded_for_the_next_visit(app):
    from components.server_state import MODEL_CACHE

    # Five models, as the load bench's students open them: each page's default, then a choice.
    visits = [("pages/feature_maps.py", None), ("pages/vit_attention.py", None),
              ("pages/vit_attention.py", ("chosen_vit_dino_widget", "dino_vit_s16")),
              ("pages/swin_windows.py", None), ("pages/swin_windows.py", ("chosen_swin_widget", "swin_t"))]

    def visit_all():
        for page, choice in visits:
            app.switch_page(page).run()
            if choice is not None:
                app.selectbox(key=choice[0]).set_value(choice[1]).run()
            assert not app.exception

    visit_all()
    loaded = MODEL_CACHE.stats()["misses"]
    visit_all()  # a class moving between pages must not rebuild models
    assert MODEL_CACHE.stats()["misses"] == loaded


def test_the_zoo_download_button_fetches_with_progress(weight_dirs, tmp_path, monkeypatch):
    import hashlib

    import torch

    import pretrained
    from pretrained import registry
    from tests.tiny_weights import tiny_spec

    source = tmp_path / "tiny_resnet.pth"
    torch.save(pretrained.build_model(tiny_spec()).state_dict(), source)
    spec = tiny_spec(url=source.as_uri(), sha256=hashlib.sha256(source.read_bytes()).hexdigest(), size_mb=1.9)
    monkeypatch.setitem(registry._SPECS, spec.name, spec)
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    at = app_at(timeout_s=120)
    zoo = at.dataframe[0].value.set_index("Model")
    assert zoo.loc["Tiny ResNet", "Weights"] == "downloadable"
    at.button(key="download_tiny_resnet").click().run()
    assert not at.exception
    assert "Tiny ResNet: weights downloaded and verified." in [s.value for s in at.success]
    assert (weight_dirs["torch"] / "tiny_resnet.pth").is_file()
    assert at.dataframe[0].value.set_index("Model").loc["Tiny ResNet", "Weights"] == "cached"


def test_the_zoo_lists_the_models_whose_weights_are_here_first(weight_dirs, tmp_path, monkeypatch):
    """The project's checkpoints are moved away (weight_dirs); this test places three files itself:
    the EfficientNet-Lite0 package is installed, the tiny ViT goes into TORCH_HOME, a tiny ResNet
    with its digest record into the user's folder. Those three, and only they, come first."""
    import shutil

    import pretrained.locations as locations
    from pretrained import registry
    from tests.tiny_weights import tiny_spec

    vit = pretrained.get_spec("tiny_vit_fmnist").weights.filename
    shutil.copy(ROOT / "pretrained" / "checkpoints" / vit, weight_dirs["torch"] / vit)
    source = tmp_path / "tiny_resnet.pth"
    torch.save(pretrained.build_model(tiny_spec()).state_dict(), source)
    shutil.copy(source, weight_dirs["user"] / "tiny_resnet.pth")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    (weight_dirs["user"] / "tiny_resnet.pth.sha256").write_text(digest)
    monkeypatch.setitem(registry._SPECS, "tiny_resnet", tiny_spec(size_mb=1.9))
    assert locations.PROJECT_CHECKPOINTS == weight_dirs["project"]
    at = app_at(timeout_s=120)
    zoo = at.dataframe[0].value
    here = {"EfficientNet-Lite0": "offline-ready", "Tiny ResNet": "offline-ready",
            "Tiny ViT (Fashion-MNIST)": "cached"}
    assert dict(zip(zoo["Model"][:3], zoo["Weights"][:3])) == here
    assert not set(zoo["Weights"][3:]) & {"offline-ready", "cached"}
    assert len(zoo) == len(pretrained.list_specs())
    # Within each group the teaching order stays: the registry's order.
    order = [s.title for s in pretrained.list_specs()]
    assert list(zoo["Model"][:2]) == sorted(zoo["Model"][:2], key=order.index)
    assert list(zoo["Model"][3:]) == sorted(zoo["Model"][3:], key=order.index)
    assert f"3 of {len(zoo)} models work on this machine now" in " ".join(m.value for m in at.markdown)


def test_a_download_into_an_unwritable_torch_home_says_which_folder_and_the_app_goes_on(
    weight_dirs, tmp_path, monkeypatch
):
    from pretrained import registry
    from tests.tiny_weights import tiny_spec

    source = tmp_path / "tiny_resnet.pth"
    torch.save(pretrained.build_model(tiny_spec()).state_dict(), source)
    spec = tiny_spec(url=source.as_uri(), sha256=hashlib.sha256(source.read_bytes()).hexdigest(), size_mb=1.9)
    monkeypatch.setitem(registry._SPECS, spec.name, spec)
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    (tmp_path / "afile").write_text("a file, not a folder: not even root can write under it")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "afile" / "sub"))
    at = app_at(timeout_s=120)
    at.button(key="download_tiny_resnet").click().run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    folder = tmp_path / "afile" / "sub" / "hub" / "checkpoints"
    assert f"cannot write tiny_resnet.pth into {folder}" in message
    assert "set TORCH_HOME to a writable folder" in message
    assert at.dataframe[0].value.set_index("Model").loc["Tiny ResNet", "Weights"] == "downloadable"


def test_the_notebook_code_draws_the_top_five_on_screen(app):

    code, _ = notebook_reproduces(app, "top_k_bar_chart", "home_top5")
    assert "tiger cat" in str(chart_spec(app, "home_top5"))
