"""End to end: the README's command starts the app; Chromium uses it like a student would."""

import time
from pathlib import Path

import pytest
import sklearn.datasets

from tests.browser import (
    assert_saved_as_png,
    browser_page,
    exception_boxes,
    free_port,
    running_app,
    screenshot,
    wait_for_run,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

REAL_PHOTO = Path(sklearn.datasets.__file__).parent / "images" / "flower.jpg"
NAVIGATION = ["Lessons", "Feature maps", "Attributions", "Architecture atlas", "Efficient convolutions",
              "Channel & spatial attention", "Receptive fields", "Dense prediction", "Video",
              "ViT & DINO attention",
              "Swin windows", "Inside the Transformer", "DETR", "Optimizer race", "Live training", "Loss landscape",
              "Home"]


@pytest.fixture(scope="module")
def app_url():
    with running_app(free_port()) as (url, _, _):
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    with browser_page(app_url, 1400, 1600) as page:
        yield page


def upload(page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("[data-testid='stFileUploaderDropzone']").click()
    chooser.value.set_files(str(path))
    wait_for_run(page)


def test_home_shows_the_cat_and_its_top5(page):
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("Cat (Chelsea) · 451×300")).to_be_visible()
    expect(main.locator(".js-plotly-plot").get_by_text("tiger cat")).to_be_visible()
    expect(main.get_by_text("UNTRAINED WEIGHTS")).to_have_count(0)
    screenshot(page, "home-cat")
    assert exception_boxes(page) == []


def test_a_real_photo_is_uploaded_and_shown(page):
    page.locator("[data-testid='stSidebar']").get_by_text("Upload", exact=True).click()
    wait_for_run(page)
    upload(page, REAL_PHOTO)
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("flower.jpg · 640×427")).to_be_visible()
    expect(main.locator(".js-plotly-plot").get_by_text("daisy")).to_be_visible()
    screenshot(page, "home-uploaded-photo")
    assert exception_boxes(page) == []


def test_a_broken_file_gives_a_message_and_the_app_keeps_working(page, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a photo" * 100)
    upload(page, broken)
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar.get_by_text("broken.jpg is not a picture that can be read")).to_be_visible()
    expect(page.locator("[data-testid='stMain']").get_by_text("flower.jpg · 640×427")).to_be_visible()
    screenshot(page, "broken-upload")
    assert exception_boxes(page) == []


@pytest.mark.parametrize("title", NAVIGATION)
def test_every_page_opens_without_an_exception(page, title):
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
    wait_for_run(page)
    expect(page.locator("[data-testid='stMain'] h1").first).to_be_visible()
    screenshot(page, "page-" + title.lower().replace(" ", "-").replace("&", "and"))
    assert exception_boxes(page) == []
    # The shared image survives navigation.
    expect(page.locator("[data-testid='stSidebar']").get_by_text("flower.jpg · 640×427")).to_be_visible()


def _clickable_picture(page):
    """The picture of the page's streamlit-image-coordinates component (one per page here)."""
    return page.frame_locator("iframe[title='streamlit_image_coordinates.streamlit_image_coordinates']").locator("img")


def _open(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
    wait_for_run(page)


def test_feature_maps_show_the_uploaded_photo_layer_by_layer(page):
    _open(page, "Feature maps")
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("40 of 40 channels, sorted by mean")).to_be_visible()
    main.get_by_role("tab", name="One channel").click()
    wait_for_run(page)  # only the open tab runs: a click reruns the page
    expect(main.get_by_text("blocks.2, channel")).to_be_visible()
    screenshot(page, "feature-maps-one-channel")
    main.get_by_role("tab", name="First-layer filters").click()
    wait_for_run(page)
    expect(main.get_by_text("The 32 filters of the first convolution")).to_be_visible()
    assert exception_boxes(page) == []


def test_attributions_run_occlusion_in_the_browser(page):
    _open(page, "Attributions")
    main = page.locator("[data-testid='stMain']")
    # The model chosen on the feature-map page is still the one in use.
    expect(main.get_by_text("at bn2, upsampled")).to_be_visible()
    main.get_by_role("button", name="Run Occlusion").click()
    wait_for_run(page)
    expect(main.get_by_text("Faithfulness on this image")).to_be_visible()
    screenshot(page, "attributions-with-occlusion")
    assert exception_boxes(page) == []


def _choose(page, label: str, option: str) -> None:
    """Picks `option` in the Streamlit selectbox labelled `label`."""
    page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text=label).click()
    page.keyboard.type(option)  # filters the list: a long one is drawn only where it is scrolled to
    page.get_by_role("option").filter(has_text=option).first.click()
    wait_for_run(page)


# Attributions' default checks (the random twin, deletion and insertion curves) cost about 25 s a
# network here: the browser opens it on one network of each kind of Grad-CAM layer (no batch norm,
# a bottleneck, squeeze-and-excitation, layer norm), and tests/test_attributions.py checks every
# registry CNN's maps without the browser.
ATTRIBUTION_SUBSET = ("alexnet", "resnet50", "mobilenet_v3_large", "convnext_tiny")


@pytest.mark.parametrize("page_title", ["Feature maps", "Attributions"])
def test_the_registry_cnns_work_on_both_pages(page, page_title):
    import pretrained

    _open(page, page_title)
    main = page.locator("[data-testid='stMain']")
    specs = pretrained.list_specs("cnn")
    if page_title == "Feature maps":  # MLP-Mixer's tokens and CvT's stages are read as maps there too
        specs = [*specs, *pretrained.list_specs("mlp"), *pretrained.list_specs("hybrid")]
    for spec in specs if page_title == "Feature maps" else [s for s in specs if s.name in ATTRIBUTION_SUBSET]:
        _choose(page, "Model", spec.title)
        assert exception_boxes(page) == [], spec.name
        expect(main.locator(".js-plotly-plot").first).to_be_visible()
        banner = main.get_by_text("UNTRAINED WEIGHTS")
        expect(banner).to_have_count(0 if pretrained.weights_status(spec).value == "offline-ready" else 1)
        if spec.family == "mlp":
            expect(main.get_by_text("its 196 tokens (one per 16×16 px patch)")).to_be_visible()
            screenshot(page, "feature-maps-mlp-mixer")
    screenshot(page, f"{page_title.lower().replace(' ', '-')}-last-model")
    _choose(page, "Model", "EfficientNet-Lite0")


def test_attention_page_click_a_patch_with_the_tiny_vit(page):
    _open(page, "ViT & DINO attention")
    main = page.locator("[data-testid='stMain']")
    _choose(page, "Model", "Tiny ViT")
    main.get_by_role("tab", name="Click a patch").click()
    wait_for_run(page)
    picture = _clickable_picture(page)
    box = picture.bounding_box()
    picture.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.9})
    wait_for_run(page)
    expect(main.get_by_text("Patch (6, 0) is framed in yellow")).to_be_visible()
    screenshot(page, "attention-clicked-patch")
    assert exception_boxes(page) == []


def test_every_transformer_works_on_the_uploaded_photo(page):
    import pretrained

    _open(page, "ViT & DINO attention")
    main = page.locator("[data-testid='stMain']")
    main.get_by_role("tab", name="Heads").click()
    wait_for_run(page)
    for spec in [*pretrained.list_specs("vit"), *pretrained.list_specs("dino")]:
        _choose(page, "Model", spec.title)
        assert exception_boxes(page) == [], spec.name
        expect(main.locator(".js-plotly-plot").first).to_be_visible()
        trained = pretrained.weights_status(spec).value == "offline-ready"
        expect(main.get_by_text("UNTRAINED WEIGHTS")).to_have_count(0 if trained else 1)
        if spec.name == "dino_vit_s16":
            main.get_by_role("tab", name="Rollout").click()
            wait_for_run(page)
            expect(main.locator(".js-plotly-plot:visible").first).to_be_visible()
            screenshot(page, "attention-dino-rollout-on-photo")
            main.get_by_role("tab", name="Heads").click()
            wait_for_run(page)


def test_swin_page_plays_the_shift_and_shows_a_clicked_tokens_attention(page):
    _open(page, "Swin windows")
    main = page.locator("[data-testid='stMain']")
    for title in ("Tiny Swin", "Swin-T"):
        _choose(page, "Model", title)
        assert exception_boxes(page) == [], title
        main.get_by_role("tab", name="Cyclic shift").click()
        wait_for_run(page)
        main.locator(".updatemenu-button:visible").filter(has_text="Play").click()
        time.sleep(4)  # 4–5 frames at 0.7 s
        expect(main.get_by_text("Step: windows cut")).to_be_visible()
        screenshot(page, f"swin-shift-{title.split()[0].lower()}")
        main.get_by_role("tab", name="Real attention").click()
        wait_for_run(page)
        picture = _clickable_picture(page)
        picture.click(position={"x": 2, "y": 2})  # inside the top-left token, even on a 56×56 grid
        wait_for_run(page)
        expect(main.get_by_text("(now row 0, column 0)")).to_be_visible()
        chart_title = main.locator(".js-plotly-plot").get_by_text("Block 2: shifted windows, masked keys grey")
        expect(chart_title).to_be_visible()  # the chart's, not the notebook code's
        screenshot(page, f"swin-attention-{title.split()[0].lower()}")
        assert exception_boxes(page) == []


def test_inside_the_transformer_on_the_uploaded_photo(page):
    _open(page, "Inside the Transformer")
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("attends most to").first).to_be_visible()  # the course's sentence
    screenshot(page, "transformer-sentence")
    _pick_radio(page, "The current image")
    _choose(page, "Model", "DeiT-S/16")  # untrained offline: the banner, and the photo itself
    expect(main.get_by_text("UNTRAINED WEIGHTS")).to_have_count(1)
    picture = _clickable_picture(page)
    picture.click(position={"x": 2, "y": 2})
    wait_for_run(page)
    expect(main.get_by_text("patch (0, 0) is framed")).to_be_visible()
    expect(main.get_by_text("Step 12 is what the block computes")).to_be_visible()
    screenshot(page, "transformer-steps-on-photo")
    main.get_by_role("tab", name="Four families at one depth").click()
    wait_for_run(page)
    expect(main.get_by_text("Where each response concentrates")).to_be_visible(timeout=120_000)
    expect(main.locator(".js-plotly-plot:visible")).to_have_count(4)
    expect(main.get_by_text("UNTRAINED WEIGHTS")).to_have_count(1)
    screenshot(page, "transformer-four-families")
    main.get_by_role("tab", name="DINO's features").click()
    wait_for_run(page)
    expect(main.get_by_text("principal components")).to_be_visible(timeout=60_000)
    screenshot(page, "transformer-dino-features")
    _choose(page, "Model", "DINOv2 ViT-S/14 ·")
    main.get_by_text("Register tokens", exact=True).click()  # swaps in the twin retrained with four registers
    wait_for_run(page)
    expect(main.get_by_text("register 4")).to_be_visible(timeout=60_000)
    expect(main.get_by_text("DINOv2 ViT-S/14 with registers has random weights")).to_be_visible()  # its banner
    screenshot(page, "transformer-dino-registers")
    assert exception_boxes(page) == []


def test_the_course_lesson_plays_in_presenter_mode_by_keyboard_with_the_notes_elsewhere(page, app_url):
    from urllib.parse import parse_qs, urlparse

    from app.lessons.shipped import shipped_lesson
    from components.lessons import PAGES

    lesson = shipped_lesson("course", PAGES)
    # A browser of its own (a new workspace): the scenes' settings stay out of the other tests' one.
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 720})
    projected = context.new_page()
    projected.goto(app_url)
    wait_for_run(projected)
    _open(projected, "Lessons")
    main = projected.locator("[data-testid='stMain']")
    workspace = parse_qs(urlparse(projected.url).query)["w"][0]
    notes = context.new_page()  # the teacher's own screen
    notes.goto(f"{projected.url.split('?')[0]}?w={workspace}&notes=1")
    main.get_by_role("button", name="Present").click()
    wait_for_run(projected)
    for number, scene in enumerate(lesson.scenes, start=1):
        expect(main.get_by_text(f"scene {number} of {len(lesson.scenes)}: {scene.title}")).to_be_visible(
            timeout=120_000)
        assert exception_boxes(projected) == [], scene.title
        expect(projected.locator("[data-testid='stSidebar']")).to_be_hidden()  # the projector theme
        expect(main.get_by_text(scene.note[:50])).to_have_count(0)  # never on the projected view
        expect(notes.get_by_text(scene.note[:50])).to_be_visible(timeout=20_000)  # the notes follow
        if number in (1, 2, 6):
            screenshot(projected, f"lesson-scene-{number}")
        if number < len(lesson.scenes):
            projected.keyboard.press("ArrowRight")
            wait_for_run(projected)
    projected.keyboard.press("ArrowLeft")
    wait_for_run(projected)
    expect(main.get_by_text(f"scene {len(lesson.scenes) - 1} of")).to_be_visible(timeout=120_000)
    screenshot(notes, "lesson-notes-window")
    main.get_by_role("button", name="End").click()
    wait_for_run(projected)
    expect(projected.locator("[data-testid='stSidebar']")).to_be_visible()
    expect(main.get_by_role("heading", name="Lessons")).to_be_visible()
    assert exception_boxes(projected) == []
    context.close()


def test_detr_shows_queries_the_encoder_and_the_matching(page):
    from app.training.fashion_mnist import fashion_mnist_dir

    if fashion_mnist_dir() is None:
        pytest.skip("the small DETR's scenes need Fashion-MNIST")
    _open(page, "DETR")
    main = page.locator("[data-testid='stMain']")
    expect(main.locator(".js-plotly-plot").get_by_text("Where query").first).to_be_visible(timeout=60_000)
    screenshot(page, "detr-tiny-queries")
    main.get_by_role("tab", name="Bipartite matching").click()
    wait_for_run(page)
    expect(main.get_by_text("letting each target in turn take its cheapest")).to_be_visible()
    screenshot(page, "detr-matching")
    main.get_by_role("tab", name="Encoder attention").click()
    wait_for_run(page)
    _pick_radio(page, "DETR ResNet-50 (COCO), on your image")
    expect(main.get_by_text("encoder tokens")).to_be_visible(timeout=180_000)
    expect(main.get_by_text("UNTRAINED WEIGHTS")).to_have_count(1)
    picture = _clickable_picture(page)
    picture.click(position={"x": 2, "y": 2})
    wait_for_run(page)
    expect(main.get_by_text("Token (0, 0) is framed")).to_be_visible()
    screenshot(page, "detr-resnet50-encoder")
    assert exception_boxes(page) == []


def test_optimizer_race_click_sets_the_start_and_replay_plays(page):
    _open(page, "Optimizer race")
    main = page.locator("[data-testid='stMain']")
    chart = main.locator(".js-plotly-plot").first
    area = chart.locator(".nsewdrag").first
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.up()
    wait_for_run(page)
    start_x = float(main.get_by_label("Start x").input_value())
    start_y = float(main.get_by_label("Start y").input_value())
    assert (start_x, start_y) != (-2.5, 1.8) and start_x > 0 and start_y > 0
    current = chart.locator(".slider-group > .slider-label")  # plotly's "step k" read-out
    expect(current).to_have_text("step 0")
    main.locator(".updatemenu-button").filter(has_text="Replay").click()
    time.sleep(2.5)
    assert int(current.text_content().split()[-1]) > 20
    screenshot(page, "optimizer-race-replay")
    assert exception_boxes(page) == []


def test_live_training_updates_its_chart_and_stops(page):
    _open(page, "Live training")
    main = page.locator("[data-testid='stMain']")
    _choose(page, "Dataset", "Digits")
    epochs = main.get_by_label("Epochs")
    epochs.fill("200")
    epochs.press("Enter")
    wait_for_run(page)
    main.get_by_role("button", name="Start", exact=True).click()
    points = []
    deadline = time.monotonic() + 60
    while len(set(points)) < 4 and time.monotonic() < deadline:  # the first drawing and three updates
        counted = page.evaluate(  # points drawn in the loss chart (the one whose x axis is the epoch)
            "() => { const charts = Array.from(document.querySelectorAll('[data-testid=stMain] .js-plotly-plot'));"
            " const gd = charts.find(c => c.layout && c.layout.xaxis && c.layout.xaxis.title"
            " && c.layout.xaxis.title.text === 'epoch');"
            " return gd && gd._fullData ? gd._fullData.reduce((n, t) => n + (t._length || 0), 0) : 0 }")
        if counted:
            points.append(counted)
        time.sleep(0.7)
    assert len(set(points)) >= 4 and points == sorted(points), points
    screenshot(page, "live-training-running")
    main.get_by_role("button", name="Stop all").click()
    expect(main.get_by_text("stopped", exact=False).first).to_be_visible(timeout=10_000)
    assert exception_boxes(page) == []


def test_a_picture_grid_saves_as_a_png_at_twice_its_size(page):
    """The augmentation preview keeps plotly's camera (only it): a student can put the sixteen
    augmented images on a slide."""
    _open(page, "Live training")
    main = page.locator("[data-testid='stMain']")
    main.locator("[data-testid='stExpander']").get_by_text("Data augmentation").click()
    wait_for_run(page)
    assert_saved_as_png(page, main.locator("[data-testid='stExpander'] .js-plotly-plot").first,
                        "vision-explorer-training.png")
    assert main.locator("[data-testid='stExpander'] .modebar-btn").count() == 1  # the camera alone


def _wait_until_gone(page, locator, timeout_s: float) -> None:
    """Until the job a click started has ended: its `locator` (a Cancel button) is gone."""
    wait_for_run(page, int(timeout_s * 1000))  # waits out the job's progress bar
    expect(locator).to_have_count(0)


def _pick_radio(page, option: str) -> None:
    """Clicks the label of a radio option, as a student does, and waits until it is checked."""
    main = page.locator("[data-testid='stMain']")
    if not main.get_by_role("radio", name=option).is_checked():
        main.locator("[data-testid='stRadio'] label").filter(has_text=option).first.click()
        wait_for_run(page)
    expect(main.get_by_role("radio", name=option)).to_be_checked()


def test_loss_landscape_surface_with_the_path_and_bn_side_by_side(page):
    from app.training.fashion_mnist import fashion_mnist_dir

    if fashion_mnist_dir() is None:
        pytest.skip("the shipped networks need Fashion-MNIST")
    _open(page, "Loss landscape")
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("From the initial to the final weights").first).to_be_attached()
    main.get_by_role("tab", name="2D plane").click()
    wait_for_run(page)  # only the open tab runs
    _pick_radio(page, "PCA of the training path")
    main.get_by_role("button", name="Compute the surface").click()
    _wait_until_gone(page, main.get_by_role("button", name="Cancel"), 120)
    expect(main.locator(".js-plotly-plot:visible").filter(has_text="training path").first).to_be_visible()
    screenshot(page, "landscape-pca-plane")
    main.get_by_role("tab", name="BN or skips: side by side").click()
    wait_for_run(page)  # only the open tab runs
    main.get_by_role("button", name="Compute both").click()
    _wait_until_gone(page, main.get_by_role("button", name="Cancel"), 180)
    expect(main.locator(".js-plotly-plot:visible").filter(has_text="LeNet-5, batch norm (shipped)").first).to_be_visible()
    screenshot(page, "landscape-bn-side-by-side")
    assert exception_boxes(page) == []
    # The run trained (and stopped) on the Live training page above is a network here too.
    _choose(page, "Network", "of Live training")
    main.get_by_role("tab", name="1D lines").click()
    wait_for_run(page)  # only the open tab runs
    expect(main.locator(".js-plotly-plot:visible").filter(has_text="From the initial to the final weights")
           .first).to_be_visible(timeout=60_000)
    main.get_by_role("tab", name="2D plane").click()
    wait_for_run(page)  # only the open tab runs
    # Stopped after some seconds, the run may have too short a path for a PCA plane: that is said.
    expect(main.get_by_text("at least 4 checkpoints").or_(main.get_by_text("of its variance"))).to_be_visible()
    screenshot(page, "landscape-live-run-plane")
    _pick_radio(page, "random filter-normalised")
    main.get_by_role("button", name="Compute the surface").click()
    _wait_until_gone(page, main.get_by_role("button", name="Cancel"), 120)
    expect(main.locator(".js-plotly-plot:visible").filter(has_text="final weights").first).to_be_visible()
    screenshot(page, "landscape-live-run")
    assert exception_boxes(page) == []


def test_dense_prediction_explains_a_box_dragged_on_the_mask_of_the_photo(page):
    _open(page, "Dense prediction")
    main = page.locator("[data-testid='stMain']")
    main.get_by_text("Your image, converted").click()
    wait_for_run(page)
    expect(main.get_by_text("Your picture shrunk to 64×64 grey")).to_be_visible()
    main.get_by_role("tab", name="Seg-Grad-CAM").click()
    wait_for_run(page)
    rows = page.locator(".st-key-seg_cam_rows")
    rows.scroll_into_view_if_needed()
    before = rows.inner_text()
    area = page.locator(".st-key-seg_cam_chart .nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    # From (16, 16) to (40, 40) of the 64×64 mask: the chart's picture fills the drag area's height.
    side = min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    page.mouse.move(left + side * 0.25, box["y"] + side * 0.25)
    page.mouse.down()
    page.mouse.move(left + side * 0.625, box["y"] + side * 0.625, steps=10)
    page.mouse.up()
    wait_for_run(page)
    expect(rows).not_to_have_text(before)
    numbers = [int(n) for n in rows.inner_text().split() if n.isdigit()]
    assert numbers[0] in range(14, 19) and numbers[1] in range(38, 43), numbers
    expect(main.get_by_text("of the support lies inside the box").or_(
        main.get_by_text("no map adds positive evidence"))).to_be_visible()
    screenshot(page, "dense-prediction-dragged-box")
    assert exception_boxes(page) == []


def test_video_page_takes_an_uploaded_clip(page, tmp_path):
    from tests.video_clips import encoded_clip

    clip = tmp_path / "walk.mp4"
    clip.write_bytes(encoded_clip(40, width=320, height=240))
    _open(page, "Video")
    main = page.locator("[data-testid='stMain']")
    main.get_by_text("Your clip", exact=True).click()
    wait_for_run(page)
    with page.expect_file_chooser() as chooser:
        main.locator("[data-testid='stFileUploaderDropzone']").click()
    chooser.value.set_files(str(clip))
    wait_for_run(page)
    expect(main.get_by_text("walk.mp4 · 320×240 · 10.0 frames/s · 4.0 s")).to_be_visible()
    expect(main.get_by_text("Why time matters")).to_be_visible()
    screenshot(page, "video-uploaded-clip")
    assert exception_boxes(page) == []
    main.get_by_role("tab", name="Two streams and SlowFast").click()
    wait_for_run(page)
    expect(main.get_by_text("the slow pathway takes 2 of its 16 frames", exact=False)).to_be_visible()
    main.get_by_role("tab", name="Kinetics networks").click()
    wait_for_run(page, timeout_ms=300_000)  # the network is built and traced in the background
    main.get_by_role("tab", name="Grad-CAM").click()
    wait_for_run(page, timeout_ms=300_000)
    expect(main.get_by_text("holds the most", exact=False)).to_be_visible()
    screenshot(page, "video-kinetics-grad-cam")
    assert exception_boxes(page) == []
