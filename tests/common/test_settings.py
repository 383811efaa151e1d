"""Invalid configuration stops a process at start-up with a message naming the variable."""

import pytest

from common.settings import GatewaySettings, SettingsError, WorkerSettings, load


def test_invalid_values_name_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_GATEWAY_PORT", "eighty")
    monkeypatch.setenv("CORTEX_MAX_BODY_BYTES", "-1")
    with pytest.raises(SettingsError) as caught:
        load(GatewaySettings)
    message = str(caught.value)
    assert "CORTEX_GATEWAY_PORT" in message and "CORTEX_MAX_BODY_BYTES" in message


def test_rate_limit_format_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_ALERTS_RATE_LIMIT", "fast")
    with pytest.raises(SettingsError, match="CORTEX_ALERTS_RATE_LIMIT"):
        load(WorkerSettings)


def test_defaults_match_the_interface() -> None:
    settings = load(GatewaySettings)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.gateway_port == 8080 and settings.webhook_token is None


def test_hard_time_limit_must_stay_below_visibility_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORTEX_VISIBILITY_TIMEOUT_S", "100")
    with pytest.raises(SettingsError, match="CORTEX_ALERTS_TIME_LIMIT_S must be below"):
        load(WorkerSettings)
