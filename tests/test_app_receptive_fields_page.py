"""The receptive-field page in AppTest: six networks' effective receptive fields over the image
and a bundled photo, the area measure in the table recomputed from the maps of the job."""

import numpy as np
import pytest

from app.atlas.erf import contribution_area
from app.atlas.erf_subjects import SUBJECTS
from tests.conftest import app_at


def test_six_networks_compared_with_their_area_measures():
    app = app_at("pages/receptive_fields.py")
    app.slider(key="erf_images").set_value(2).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["Network"]) == [s.title for s in SUBJECTS]
    from components.server_state import SHARED_JOBS

    [job] = [j for key, j in SHARED_JOBS.items() if key[0] == "erf" and len(key[1]) == 2]
    maps = job.snapshot().result
    for subject, row in zip(SUBJECTS, table.itertuples()):
        erf = maps[subject.key]
        assert erf.shape == (224, 224) and np.isfinite(erf).all() and erf.sum() > 0
        assert row[3] == pytest.approx(contribution_area(erf, 0.2))  # "Area holding 20%"
    words = " ".join(c.value for c in app.caption)
    assert "half of it lies in" in words and "ConvNeXt" in words
