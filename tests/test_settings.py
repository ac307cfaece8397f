"""Server settings from the environment: defaults, numbers, and typos named in the message."""

import pytest

from app.settings import number_from_env


@pytest.mark.parametrize("text, expected", [(None, 1024), ("", 1024), (" 48 ", 48), ("0.5", 0.5)])
def test_a_setting_is_its_number_or_the_default(monkeypatch, text, expected):
    if text is None:
        monkeypatch.delenv("VISION_EXPLORER_TEST_MB", raising=False)
    else:
        monkeypatch.setenv("VISION_EXPLORER_TEST_MB", text)
    assert number_from_env("VISION_EXPLORER_TEST_MB", 1024, minimum=0.1) == expected


@pytest.mark.parametrize("text, problem", [("1GB", "is not a number"), ("-5", "must be at least 1"),
                                           ("nan", "must be at least 1")])
def test_a_bad_setting_is_refused_with_its_name(monkeypatch, text, problem):
    monkeypatch.setenv("VISION_EXPLORER_TEST_MB", text)
    with pytest.raises(ValueError) as refused:
        number_from_env("VISION_EXPLORER_TEST_MB", 1024, minimum=1)
    assert str(refused.value).startswith(f"VISION_EXPLORER_TEST_MB={text!r}") and problem in str(refused.value)
    assert "default, 1024" in str(refused.value)
