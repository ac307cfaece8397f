"""Every chart on every page saves as a PNG at twice its size on screen (for a projector or a
handout), named after its page."""

import ast

import pytest

from tests.conftest import ROOT


def _chart_calls():
    for path in sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "components").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "plotly_chart":
                yield f"{path.name}:{node.lineno}", node


def test_every_chart_is_drawn_with_the_export_config():
    calls = list(_chart_calls())
    assert len(calls) > 30  # every page's charts were read
    without = [where for where, call in calls
               if not any(k.arg == "config" and isinstance(k.value, ast.Call)
                          and getattr(k.value.func, "id", None) == "chart_config" for k in call.keywords)]
    assert without == []


def test_no_chart_hides_its_camera():
    """A chart without plotly's toolbar has no way to be saved: every page's charts keep at
    least the camera (picture grids keep only it)."""
    hidden = [path.name for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "components").glob("*.py")]
              if "displayModeBar" in path.read_text()]
    assert hidden == []
    from components.figure_export import PICTURE_TOOLBAR

    assert PICTURE_TOOLBAR["modeBarButtons"] == [["toImage"]]


@pytest.mark.parametrize("extra", [None, {"displayModeBar": False}, {"plotGlPixelRatio": 1}])
def test_the_export_config_keeps_a_page_s_own_settings(extra):
    from components.figure_export import SCALE, chart_config

    config = chart_config(extra)
    assert config["toImageButtonOptions"]["scale"] == SCALE == 2
    assert config["toImageButtonOptions"]["format"] == "png"
    assert all(config[k] == v for k, v in (extra or {}).items())
