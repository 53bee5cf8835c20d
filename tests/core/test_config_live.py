"""[live] in kiosk.toml: the live channel to the attendant station, validated like every section."""
from __future__ import annotations

import pytest

from kiosk import config


def test_defaults_match_the_shipped_file():
    shipped = config.load("kiosk.toml", environ={})
    assert shipped.live == config.Settings().live
    assert (shipped.live.enabled, shipped.live.debounce_s, shipped.live.reconnect_max_s) == (True, 0.25, 30)


def test_environment_overrides():
    settings = config.load("kiosk.toml", environ={"KIOSK_LIVE_ENABLED": "false", "KIOSK_LIVE_DEBOUNCE_S": "0.5"})
    assert settings.live.enabled is False and settings.live.debounce_s == 0.5


@pytest.mark.parametrize("key, value, expected", [
    ("KIOSK_LIVE_DEBOUNCE_S", "0", "live.debounce_s"),
    ("KIOSK_LIVE_DEBOUNCE_S", "fast", "expected a number"),
    ("KIOSK_LIVE_RECONNECT_MAX_S", "0.5", "live.reconnect_max_s"),
    ("KIOSK_LIVE_ENABLED", "yes", "expected true or false"),
])
def test_bad_values_name_the_key_and_what_is_expected(key, value, expected):
    with pytest.raises(config.ConfigError) as error:
        config.load("kiosk.toml", environ={key: value})
    assert expected in str(error.value) and key in str(error.value), str(error.value)
