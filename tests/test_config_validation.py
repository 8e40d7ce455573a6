"""Every setting's type and range is checked in one place, from config.toml, the environment
and ``with_overrides`` alike, with a message naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanhar_core.cli import main
from lanhar_core.config import load_settings, with_overrides
from lanhar_core.errors import ConfigError


def _write_config(home: Path, text: str | bytes) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[data]\nwindow_samples = 12.7\n", r"\[data\] window_samples in config.toml = 12.7 is not a whole number"),
        ("[text_encoder]\nepochs = true\n", r"epochs in config.toml = True is not a whole number"),
        ("[llm]\nmax_retries = -5\n", r"llm.max_retries = -5 must be >= 0"),
        ("[llm]\ntimeout_s = -1\n", r"llm.timeout_s = -1.0 must be > 0"),
        ("[data]\nmax_upload_mb = -1\n", r"data.max_upload_mb = -1.0 must be > 0"),
        ("[llm]\nmodel = 5\n", r"model in config.toml = 5 is not a text"),
        ("[sensor_encoder]\nunknown_threshold = 1.5\n", r"sensor_encoder.unknown_threshold = 1.5 must be in \[0, 1\]"),
        ("[llm]\nbackend = 'gpt'\n", r"llm.backend = 'gpt' is not one of 'rules', 'openai', 'local'"),
        ("[text_encoder]\nalign = 'yes please'\n", r"align in config.toml = 'yes please' is not true or false"),
        ("[quality]\nk_range = [1.5, 3]\n", r"k_range in config.toml = 1.5 is not a whole number"),
        ("data = 5\n", r"\[data\] must be a table of settings"),
        ("window_samples = 60\n", r"setting\(s\) outside a section .*window_samples"),
        ("[data]\nstride_samples = 200\n", r"data.stride_samples must be in 1..window_samples"),
    ],
)
def test_wrong_values_in_config_toml_are_refused_by_name(home: Path, toml: str, message: str) -> None:
    _write_config(home, toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(home)


def test_non_utf8_config_is_a_config_error(home: Path) -> None:
    _write_config(home, "[llm]\nmodel = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(home)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LANHAR_DATA_WINDOW_SAMPLES", "12.7", r"LANHAR_DATA_WINDOW_SAMPLES \(environment\) = '12.7' is not a whole number"),
        ("LANHAR_LLM_MAX_RETRIES", "-5", r"llm.max_retries = -5 must be >= 0"),
        ("LANHAR_TEXT_ENCODER_RECON", "maybe", r"is not true or false"),
        ("LANHAR_LLM_TEMPERATURE", "nan", r"is not a finite number"),
    ],
)
def test_wrong_environment_values_are_refused(home: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(home)


def test_environment_strings_are_parsed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANHAR_TEXT_ENCODER_RECON", "off")
    monkeypatch.setenv("LANHAR_DATA_RATE_HZ", "25")
    monkeypatch.setenv("LANHAR_QUALITY_K_RANGE", "2, 4")
    settings = load_settings(home)
    assert settings.text_encoder.recon is False and settings.data.rate_hz == 25.0 and settings.quality.k_range == (2, 4)


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("data", {"window_samples": 12.7}, "data.window_samples = 12.7 is not a whole number"),
        ("sensor_encoder", {"epochs": True}, "sensor_encoder.epochs = True is not a whole number"),
        ("llm", {"max_retries": -5}, "llm.max_retries = -5 must be >= 0"),
        ("data", {"stride_samples": 500}, "stride_samples must be in 1..window_samples"),
        ("data", {"no_such": 1}, r"unknown setting\(s\) in \[data\]: no_such"),
        ("nope", {"x": 1}, "unknown settings section 'nope'"),
    ],
)
def test_overrides_are_checked_by_the_same_rules(home: Path, section: str, values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        with_overrides(load_settings(home), section, **values)
    assert with_overrides(load_settings(home), "data", max_upload_mb=1).data.max_upload_mb == 1.0


def test_cli_prints_the_config_error_without_a_traceback(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_config(home, "[llm]\nmax_retries = -5\n")
    assert main(["--home", str(home), "data", "stats"]) == 2
    err = capsys.readouterr().err
    assert "llm.max_retries = -5 must be >= 0" in err and "Traceback" not in err


def test_a_home_that_cannot_be_created_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["--home", str(blocker / "home"), "data", "stats"]) == 2
    assert "cannot create the data directory" in capsys.readouterr().err
