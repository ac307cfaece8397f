"""Widgets in a tab that is not open keep their values (components/lazy_tabs.py): only the open
tab runs, and Streamlit forgets the value of a widget that a run does not draw."""

import pytest

from tests.conftest import app_at, open_tab


def _page():
    import streamlit as st

    from components.lazy_tabs import lazy_tabs

    tabs = lazy_tabs(["A", "B"], "t", {"B": ("b_",)})
    with tabs[1]:
        if tabs[1].open:
            st.radio("kind", ["x", "y"], key="b_kind")
            st.slider("layer", 1, 10, 10, key="b_layer")
    st.markdown(f"kind={st.session_state.get('b_kind')} layer={st.session_state.get('b_layer')}")


def test_values_set_in_a_tab_survive_runs_of_another_tab_and_show_when_it_opens_again():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page).run()
    open_tab(at, "t", "B")
    at.radio(key="b_kind").set_value("y")
    at.slider(key="b_layer").set_value(3).run()
    for _ in range(3):  # several runs with the tab closed
        open_tab(at, "t", "A")
    assert at.markdown[0].value == "kind=y layer=3"
    open_tab(at, "t", "B")
    assert (at.radio(key="b_kind").value, at.slider(key="b_layer").value) == ("y", 3)
    # The run that opens the tab sends the kept values, or the browser would draw the defaults.
    assert at.radio(key="b_kind").proto.set_value and at.slider(key="b_layer").proto.set_value
    at.slider(key="b_layer").set_value(5).run()
    assert at.markdown[0].value == "kind=y layer=5" and not at.exception
    assert not at.slider(key="b_layer").proto.set_value  # not written while on screen


@pytest.mark.parametrize("page, tab_key, tab, widget, value, other_tab", [
    ("pages/vit_attention.py", "vit_tab", "Heads", ("slider", "heads_layer"), 1, "Rollout"),
    ("pages/feature_maps.py", "fm_tab", "One channel", ("slider", "fm_opacity"), 0.3, "Statistics"),
    ("pages/optimizers.py", "race_tab", "Table", ("number_input", "race_tolerance"), 0.01, "Race"),
])
def test_a_page_keeps_a_closed_tabs_setting(page, tab_key, tab, widget, value, other_tab):
    app = app_at(page)
    open_tab(app, tab_key, tab)
    kind, key = widget
    getattr(app, kind)(key=key).set_value(value).run()
    open_tab(app, tab_key, other_tab)
    open_tab(app, tab_key, other_tab)
    open_tab(app, tab_key, tab)
    assert getattr(app, kind)(key=key).value == value and not app.exception
