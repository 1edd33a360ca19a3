"""Typed config: TOML files, --set overrides, errors that name the file and key."""

from __future__ import annotations

import tomllib

import pytest

from antiphon.config import AnalysisConfig, Config, load_config, to_toml
from antiphon.errors import ConfigError


def test_defaults_and_convention_resolution():
    config = load_config()
    assert config == Config()
    peeters = config.analysis.resolved()
    assert (peeters.window, peeters.center, peeters.rolloff_threshold, peeters.rolloff_power) == ("blackman", False, 0.95, 2.0)
    librosa = AnalysisConfig(convention="librosa").resolved()
    assert (librosa.window, librosa.center, librosa.rolloff_threshold, librosa.chroma_method) == ("hann", True, 0.85, "librosa")
    explicit = AnalysisConfig(convention="librosa", window="blackman").resolved()
    assert explicit.window == "blackman"  # an explicit setting wins over the convention


def test_toml_file_and_overrides(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('[analysis]\nhop_length = 256\nconvention = "librosa"\nchroma_fmin_hz = 80\n')
    config = load_config(path, ["analysis.n_fft=4096", "analysis.window=hamming", "analysis.center=false"])
    a = config.analysis
    assert (a.hop_length, a.convention, a.chroma_fmin_hz, a.n_fft, a.window, a.center) == (256, "librosa", 80.0, 4096, "hamming", False)
    assert isinstance(a.chroma_fmin_hz, float)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[analysis]\nhop_lenght = 256\n", "settings.toml: unknown key 'analysis.hop_lenght'"),
        (
            "[analsis]\nhop_length = 256\n",
            "settings.toml: unknown section 'analsis' (known: analysis, corpus, evaluate, generate, live, model, realtime, training)",
        ),
        ('[analysis]\nhop_length = "256"\n', "settings.toml: analysis.hop_length must be an integer, got string '256'"),
        ("[analysis]\nn_fft = 2048.0\n", "settings.toml: analysis.n_fft must be an integer, got number 2048.0"),
        ("[analysis]\ncenter = 1\n", "settings.toml: analysis.center must be a boolean, got integer 1"),
        ('[analysis]\nconvention = "essentia"\n', "settings.toml: analysis.convention must be one of 'peeters', 'librosa'"),
        ("[analysis]\nhop_length = 0\n", "settings.toml: analysis.hop_length must be >= 1, got 0"),
        ("[analysis]\nchroma_fmax_hz = 50\n", "settings.toml: analysis.chroma_fmax_hz (50.0) must be above chroma_fmin_hz"),
        ("analysis = 3\n", "settings.toml: 'analysis' must be a table, got integer"),
        ("[analysis\n", "settings.toml: invalid TOML"),
    ],
)
def test_bad_files_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path.parent / message.split(":")[0])) and message.split(": ", 1)[1] in str(info.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("analysis.hop_length=abc", "--set analysis.hop_length=abc: analysis.hop_length must be an integer, got string 'abc'"),
        ("analysis.nope=1", "--set analysis.nope=1: unknown key 'analysis.nope'"),
        ("trainer.lr=1", "--set trainer.lr=1: unknown section 'trainer'"),
        ("analysis.hop_length", "--set analysis.hop_length: expected section.key=value"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert str(info.value).startswith(message)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "none.toml")


def test_to_toml_round_trips_and_documents_every_key():
    config = load_config(None, ["analysis.hop_length=128", "analysis.window=hann"])
    text = to_toml(config)
    assert "# samples between successive frames" in text
    again = tomllib.loads(text)
    assert again["analysis"]["hop_length"] == 128 and again["analysis"]["window"] == "hann"
    assert load_config(None, []) != config
    path_config = tomllib.loads(to_toml(config, with_docs=False))
    assert path_config["analysis"]["n_fft"] == 2048


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        AnalysisConfig().hop_length = 3  # type: ignore[misc]


def test_overrides_are_checked_together_whatever_their_order(tmp_path):
    config = load_config(None, ["training.momentum=0.8", "training.optimizer=sgd", "training.nesterov=true"])
    assert (config.training.optimizer, config.training.momentum, config.training.nesterov) == ("sgd", 0.8, True)
    with pytest.raises(ConfigError, match="^--set: training.nesterov needs momentum > 0"):
        load_config(None, ["training.optimizer=sgd", "training.nesterov=true"])
    path = tmp_path / "s.toml"
    path.write_text("[training]\nmomentum = 0.9\n")
    assert load_config(path, ["training.optimizer=sgd"]).training.momentum == 0.9
    with pytest.raises(ConfigError, match=f"^{path}: training.momentum and nesterov are sgd settings"):
        load_config(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("generate.chroma_sigma_temperature=-1", "generate.chroma_sigma_temperature must be >= 0, got -1.0"),
        ("realtime.played_sigma_temperature=-1", "realtime.played_sigma_temperature must be >= 0, got -1.0"),
        ("evaluate.pi_temperature=0", "evaluate.pi_temperature must be > 0, got 0.0"),
        ("realtime.sigma_temperature=-0.5", "realtime.sigma_temperature must be >= 0, got -0.5"),
        ("evaluate.register_pull_s=-1", "evaluate.register_pull_s must be >= 0, got -1.0"),
        ("generate.key_margin=-0.5", "generate.key_margin must be >= 0, got -0.5"),
    ],
)
def test_a_bad_temperature_is_named_with_its_value(override, message):
    with pytest.raises(ConfigError, match=f"^--set: {message}$"):
        load_config(None, [override])


def test_a_negative_onset_clock_is_named_with_its_value():
    with pytest.raises(ConfigError, match=r"^--set: model.onset_clock must be >= 0 \(0 = off\), got -1$"):
        load_config(None, ["model.onset_clock=-1"])


@pytest.mark.parametrize("weight", ["-0.1", "1"])
def test_an_outlier_weight_outside_zero_to_one_is_named_with_its_value(weight):
    with pytest.raises(ConfigError, match=rf"^--set: model.outlier_weight must be in \[0, 1\), got {float(weight)}$"):
        load_config(None, [f"model.outlier_weight={weight}"])
