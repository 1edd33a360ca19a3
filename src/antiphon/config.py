"""Typed, frozen configuration: the only place where defaults live.

A configuration is a tree of frozen dataclasses. It is read from a TOML file whose tables match
the sections (``[analysis]``, ...) and then patched by ``--set section.key=value`` overrides.
Unknown keys, wrong types and out-of-range values raise :class:`~antiphon.errors.ConfigError`
naming the file (or the ``--set`` argument) and the key.

Each field carries its documentation in ``metadata["doc"]``; ``antiphon config`` prints the
effective configuration with those docs as comments.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from antiphon.errors import ConfigError
from antiphon.feature_names import CATEGORIES, SPECTRAL_NAMES

Convention = Literal["peeters", "librosa"]
ChromaMethod = Literal["ircam", "librosa"]


def require(checks: Sequence[tuple[bool, str]], section: str) -> None:
    """Raise ConfigError("section.message") for the first check that is False (cross-field rules)."""
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{section}.{message}")


def temperature_checks(settings: Any) -> list[tuple[bool, str]]:
    """The sampling temperatures' rules, one check per setting naming its value (``[generate]``,
    ``[evaluate]`` and ``[realtime]`` share them; :func:`require` adds the section)."""
    checks = [(settings.pi_temperature > 0, f"pi_temperature must be > 0, got {settings.pi_temperature}")]
    for name in (
        "sigma_temperature",
        "played_sigma_temperature",
        "chroma_sigma_temperature",
        "dt_temperature",
        "register_pull_s",
        "key_margin",
    ):
        value = getattr(settings, name)
        checks.append((value >= 0, f"{name} must be >= 0, got {value}"))
    return checks


def read_toml(path: Path | str, what: str) -> dict[str, Any]:
    """The tables of a TOML file; ``what`` names it in errors ("config file", "the study spec").

    Raises:
        ConfigError: the file cannot be read or is not valid TOML; the message starts with the path.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def setting(default: Any, doc: str) -> Any:
    """A dataclass field with its default and the one-line doc `antiphon config` prints."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class AnalysisConfig:
    """How audio becomes analysis frames (design §2.2).

    Fields left as ``None`` take the value of the chosen ``convention``; :meth:`resolved` fills
    them in. ``peeters`` follows Peeters 2004 / IrcamDescriptor; ``librosa`` reproduces librosa
    0.11's choices so that the two can be cross-checked.
    """

    convention: Convention = setting("peeters", "descriptor conventions: 'peeters' (IrcamDescriptor) or 'librosa'")
    n_fft: int = setting(2048, "window and FFT length in samples")
    hop_length: int = setting(512, "samples between successive frames")
    window: str | None = setting(None, "window name for scipy.signal.get_window (peeters: blackman, librosa: hann)")
    center: bool | None = setting(None, "frames centred on t*hop with zero padding (librosa) instead of starting at t*hop (peeters)")
    rolloff_threshold: float | None = setting(None, "fraction of the total reached at the rolloff (peeters: 0.95, librosa: 0.85)")
    rolloff_power: float | None = setting(
        None, "exponent of the magnitude summed for the rolloff: 2 = energy (peeters), 1 = magnitude (librosa)"
    )
    chroma_method: ChromaMethod | None = setting(
        None, "'ircam': semitone bands between chroma_fmin_hz and chroma_fmax_hz; 'librosa': Ellis filter bank"
    )
    chroma_fmin_hz: float = setting(77.0, "lowest frequency counted in chroma (ircam method), Hz")
    chroma_fmax_hz: float = setting(1500.0, "highest frequency counted in chroma (ircam method), Hz")
    tuning_hz: float = setting(440.0, "frequency of A4, Hz")
    chroma_center_octave: float = setting(5.0, "centre octave of the librosa chroma weighting")
    chroma_octave_width: float = setting(2.0, "Gaussian octave width of the librosa chroma weighting (0 = flat)")
    fft_precision: Literal["single", "double"] = setting(
        "single", "FFT arithmetic: 'single' (as IrcamDescriptor/PiPo; about twice as fast) or 'double'"
    )
    variation_first_frame: Literal["zero", "next"] = setting(
        "zero", "SpectralVariation of the first frame: 0, or the second frame's value (Timbre Toolbox); streaming needs 'zero'"
    )
    silence_dbfs: float = setting(-120.0, "frames whose windowed RMS is below this level (dB full scale) count as silent")
    yin_downsampling: int = setting(2, "Yin works on the frame averaged down by 2**yin_downsampling (pipo.yin: 2)")
    yin_threshold: float = setting(0.68, "Yin threshold on the cumulative mean normalised difference (pipo.yin: 0.68)")
    yin_min_freq_hz: float = setting(0.0, "lowest Yin frequency, Hz; 0 = as low as the frame allows")
    harmonics: int = setting(20, "Harmonic category: harmonic peaks looked for above the fundamental (docs/features.md)")
    harmonic_min_periodicity: float = setting(
        0.5, "Harmonic category: frames whose Yin periodicity is below this are noise, their harmonic descriptors 0"
    )
    mfcc_mels: int = setting(40, "Perceptual category: mel bands under the MFCC")

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (self.n_fft >= 16, f"n_fft must be >= 16, got {self.n_fft}"),
            (self.hop_length >= 1, f"hop_length must be >= 1, got {self.hop_length}"),
            (
                self.rolloff_threshold is None or 0.0 < self.rolloff_threshold <= 1.0,
                f"rolloff_threshold must be in (0, 1], got {self.rolloff_threshold}",
            ),
            (self.rolloff_power is None or self.rolloff_power > 0, f"rolloff_power must be > 0, got {self.rolloff_power}"),
            (self.chroma_fmin_hz > 0, f"chroma_fmin_hz must be > 0, got {self.chroma_fmin_hz}"),
            (
                self.chroma_fmax_hz > self.chroma_fmin_hz,
                f"chroma_fmax_hz ({self.chroma_fmax_hz}) must be above chroma_fmin_hz ({self.chroma_fmin_hz})",
            ),
            (self.tuning_hz > 0, f"tuning_hz must be > 0, got {self.tuning_hz}"),
            (self.chroma_octave_width >= 0, f"chroma_octave_width must be >= 0, got {self.chroma_octave_width}"),
            (0 <= self.yin_downsampling <= 3, f"yin_downsampling must be 0, 1, 2 or 3, got {self.yin_downsampling}"),
            (0.0 < self.yin_threshold <= 1.0, f"yin_threshold must be in (0, 1], got {self.yin_threshold}"),
            (self.yin_min_freq_hz >= 0, f"yin_min_freq_hz must be >= 0, got {self.yin_min_freq_hz}"),
            (1 <= self.harmonics <= 100, f"harmonics must be in 1..100, got {self.harmonics}"),
            (
                0.0 <= self.harmonic_min_periodicity <= 1.0,
                f"harmonic_min_periodicity must be in [0, 1], got {self.harmonic_min_periodicity}",
            ),
            (13 <= self.mfcc_mels <= 256, f"mfcc_mels must be in 13..256 (13 coefficients), got {self.mfcc_mels}"),
        ]
        require(checks, "analysis")

    def resolved(self) -> AnalysisConfig:
        """This config with every ``None`` replaced by its convention's value."""
        defaults = _CONVENTION_DEFAULTS[self.convention]
        filled = {name: value for name, value in defaults.items() if getattr(self, name) is None}
        return dataclasses.replace(self, **filled)


_CONVENTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "peeters": {
        "window": "blackman",
        "center": False,
        "rolloff_threshold": 0.95,
        "rolloff_power": 2.0,
        "chroma_method": "ircam",
    },
    "librosa": {
        "window": "hann",
        "center": True,
        "rolloff_threshold": 0.85,
        "rolloff_power": 1.0,
        "chroma_method": "librosa",
    },
}


@dataclass(frozen=True)
class CorpusConfig:
    """How analysis files become a training corpus (design §2.3)."""

    features: tuple[str, ...] = setting(
        SPECTRAL_NAMES,
        "features after dt in each row (default: the 20 Spectral values); a category's name (Spectral, Signal, Yin, Harmonic,"
        " Perceptual) stands for all its features",
    )
    split: Literal["block", "file"] = setting(
        "block", "'block': each file is cut into contiguous train/validation/test blocks; 'file': whole files"
    )
    train_fraction: float = setting(0.8, "share of frames (block) or files (file) for training")
    validation_fraction: float = setting(0.1, "share for validation (early stopping); the rest is the test split")
    timing: Literal["auto", "modelled", "constant"] = setting(
        "auto",
        "dt as a model dimension: 'auto' = only when the time steps vary by more than 1 % of their median (session logs, "
        "event data); 'constant' = never (frames at a fixed hop: the model answers at the hop); 'modelled' = always",
    )
    resolution: float = setting(
        0.01,
        "resolution of every feature as a fraction of its training range (or its lattice step where coarser, e.g. rolloff "
        "on FFT bins): training dequantises within it, so atoms (chroma at 1, silent frames) earn no free nats",
    )

    quiet_margin_db: float | None = setting(
        10.0,
        "frames within this many dB of the recording's noise floor become silent frames (every feature 0, as the analyser "
        "marks silence), so 16-bit pauses at -96 dBFS are not learned as noise; needs TotalEnergy in the analysis (files "
        "without it are left as they are); unset = keep every frame as analysed",
    )
    test_files: tuple[str, ...] = setting(
        (),
        "files held out entirely as the test split (a name, or a part of one, per entry: e.g. ['feelings']); the other "
        "files are cut into train and validation blocks in the ratio train_fraction : validation_fraction",
    )
    train_files: tuple[str, ...] = setting(
        (),
        "files given entirely to the training split (a name, or a part of one, per entry: e.g. ['_mix'] for a band's"
        " full mixes, music to learn from that is never prompted or judged); the others split as without them",
    )
    log_frequency_knee_hz: float | None = setting(
        None,
        "put the features measured in Hz (centroid, spread, rolloff...) on a log-frequency scale before min-max scaling:"
        " ln(1 + f / knee), octaves above the knee and linear below it, 0 Hz (silence) still 0; unset = linear Hz, the"
        " paper's scaling. Evaluation judges every model on the linear scale",
    )
    log_chroma_knee: float | None = setting(
        None,
        "put the chroma on a log scale before min-max scaling: ln(1 + c / knee), where c is a class's share of the"
        " strongest (1): the log of that ratio above the knee, linear below it, 0 (silence) still 0; unset = linear,"
        " the paper's scaling. Evaluation judges every model on the linear scale",
    )

    def __post_init__(self) -> None:
        if self.quiet_margin_db is not None and not self.quiet_margin_db > 0:
            raise ConfigError(f"corpus.quiet_margin_db must be > 0 (or unset), got {self.quiet_margin_db}")
        if self.log_frequency_knee_hz is not None and not (0 < self.log_frequency_knee_hz < float("inf")):
            raise ConfigError(f"corpus.log_frequency_knee_hz must be a frequency > 0 Hz (or unset), got {self.log_frequency_knee_hz}")
        if self.log_chroma_knee is not None and not (0 < self.log_chroma_knee < float("inf")):
            raise ConfigError(f"corpus.log_chroma_knee must be a share of the strongest class > 0 (or unset), got {self.log_chroma_knee}")
        if not 0 < self.resolution <= 0.25:
            raise ConfigError(f"corpus.resolution must be in (0, 0.25], got {self.resolution}")
        # a category's name stands for all its features: ["Spectral", "Perceptual"], ["Harmonic", "Loudness"]
        object.__setattr__(self, "features", tuple(n for name in self.features for n in CATEGORIES.get(name, (name,))))
        if not self.features:
            raise ConfigError("corpus.features must name at least one feature")
        if len(set(self.features)) != len(self.features):
            raise ConfigError(f"corpus.features names a feature twice: {list(self.features)}")
        if "dt" in self.features:
            raise ConfigError("corpus.features: dt is always the first column; do not list it")
        if not (0 < self.train_fraction < 1 and 0 < self.validation_fraction < 1):
            raise ConfigError("corpus.train_fraction and corpus.validation_fraction must be in (0, 1)")
        if self.train_fraction + self.validation_fraction > 1 + 1e-12:
            raise ConfigError(
                f"corpus.train_fraction + corpus.validation_fraction must be <= 1, got {self.train_fraction} + {self.validation_fraction}"
            )


#: LSTM units per layer for each model size, as IMPSY names them
MODEL_SIZES: dict[str, int] = {"xxs": 16, "xs": 32, "s": 64, "m": 128, "l": 256, "xl": 512}


@dataclass(frozen=True)
class ModelConfig:
    """The MDRNN (design §3): LSTM layers and a mixture density head."""

    size: Literal["xxs", "xs", "s", "m", "l", "xl"] = setting("s", "LSTM units per layer: xxs 16, xs 32, s 64, m 128, l 256, xl 512")
    n_layers: int = setting(2, "LSTM layers")
    n_mixtures: int = setting(5, "Gaussian components of the mixture density head")
    dropout: float = setting(0.0, "dropout between LSTM layers (IMPSY: none)")
    init: Literal["keras", "torch"] = setting(
        "keras", "weight initialisation: 'keras' (glorot/orthogonal, forget bias 1, one bias: as the paper) or 'torch'"
    )
    sigma_floor: float = setting(1e-7, "added to every sigma: sigma = elu(x) + 1 + sigma_floor (keras-mdn-layer)")
    outlier_weight: float = setting(
        0.001,
        "heavier tails: each value's density is (1 - w) N(mu, sigma) + w N(mu, a quarter of the range), so a jump the "
        "Gaussians call impossible costs a few nats, not hundreds, in training and evaluation; answers are drawn from the "
        "Gaussians alone; 0 = none (the paper; measured: on a song the model never heard it forecast better and moved more "
        "like the music on every seed; docs/model.md, round 18)",
    )
    level_steps: int = setting(
        86,
        "the model sees beside each frame the running mean of the frames so far, with this time constant in steps (86 = 1 s "
        "at the analysis hop): the register an answer should stay in; 0 = the frame alone (the paper)",
    )
    activity_steps: int = setting(
        0,
        "the model also sees beside each frame the running mean of its step sizes (as a log), with this time constant in "
        "steps: how much the music moves; 0 = off (measured: the answers then follow their prompt's activity, but the "
        "sampling temperatures decide how busy they get; docs/model.md, round 5)",
    )
    onset_clock: int = setting(
        0,
        "the model also sees beside each frame the frames since the last onset (a row that jumps from the one before) "
        "and the interval before it, counted up to this many steps: where the picking's pulse is; 0 = off "
        "(docs/model.md, round 8)",
    )
    skip: bool = setting(
        True,
        "the head sees the current frame beside the LSTM's output: a linear path from input to output (a VAR(1) inside "
        "the model), so a value can be pulled back towards its level at once",
    )
    residual: bool = setting(
        True, "the mixture means are offsets from the current frame (mu = x_t + head): holding still is the model's starting point"
    )

    def __post_init__(self) -> None:
        if self.n_layers < 1 or self.n_mixtures < 1:
            raise ConfigError("model.n_layers and model.n_mixtures must be >= 1")
        if self.level_steps < 0:
            raise ConfigError(f"model.level_steps must be >= 0 (0 = off), got {self.level_steps}")
        if self.activity_steps < 0:
            raise ConfigError(f"model.activity_steps must be >= 0 (0 = off), got {self.activity_steps}")
        if self.onset_clock < 0:
            raise ConfigError(f"model.onset_clock must be >= 0 (0 = off), got {self.onset_clock}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if self.sigma_floor <= 0:
            raise ConfigError(f"model.sigma_floor must be > 0, got {self.sigma_floor}")
        if not 0 <= self.outlier_weight < 1:
            raise ConfigError(f"model.outlier_weight must be in [0, 1), got {self.outlier_weight}")

    @property
    def n_units(self) -> int:
        return MODEL_SIZES[self.size]


#: the paper's MDRNN (IMPSY's size s): means from the LSTM alone, no running level, no skip path
PAPER_MODEL = ModelConfig(size="s", residual=False, skip=False, level_steps=0, activity_steps=0, onset_clock=0, outlier_weight=0.0)


#: the interaction modes (antiphon.realtime.modes.MODES says what each does)
ModeName = Literal["callresponse", "filter", "solo", "useronly"]
OptimizerName = Literal["adam", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"]
#: Keras's default learning rate of each optimizer (antiphon.training.optimizers builds them, with Keras's semantics)
KERAS_DEFAULT_LR: dict[str, float] = {"adam": 0.001, "nadam": 0.001, "sgd": 0.01, "rmsprop": 0.001, "adagrad": 0.001, "adadelta": 0.001}


@dataclass(frozen=True)
class TrainingConfig:
    """Training (design §4). Optimizer hyper-parameters follow Keras's meaning and defaults."""

    optimizer: OptimizerName = setting("adam", f"{', '.join(get_args(OptimizerName))} (Keras semantics)")
    lr: float | None = setting(
        None, "learning rate; unset = the Keras default (" + ", ".join(f"{k} {v:g}" for k, v in KERAS_DEFAULT_LR.items()) + ")"
    )
    momentum: float = setting(0.0, "sgd momentum")
    nesterov: bool = setting(False, "sgd: Nesterov momentum")
    decay: float = setting(0.0, "Keras time-based decay per batch: lr_t = lr / (1 + decay * t), t = batches so far")
    beta_1: float = setting(0.9, "adam, nadam: first-moment decay")
    beta_2: float = setting(0.999, "adam, nadam: second-moment decay")
    epsilon: float = setting(1e-7, "adam, nadam, rmsprop, adagrad, adadelta: Keras's epsilon")
    rho: float | None = setting(None, "rmsprop, adadelta: moving-average decay; unset = Keras (0.9, 0.95)")
    nadam_variant: Literal["legacy", "keras3"] = setting(
        "legacy",
        "nadam momentum schedule: 'legacy' 0.96^(0.004 t) (Keras <= 2.10, tf.keras legacy) or 'keras3' 0.96^t",
    )
    initial_accumulator: float = setting(0.1, "adagrad: initial accumulator value (Keras)")
    l1: float = setting(0.0, "L1 penalty on weight matrices, added to the loss: l1 * sum |w|")
    l2: float = setting(0.0, "L2 penalty on weight matrices, added to the loss: l2 * sum w^2")
    clip_norm: float | None = setting(None, "clip the global gradient norm to this value (unset: no clipping)")
    clip_value: float | None = setting(None, "clip every gradient element to [-clip_value, clip_value] (unset: none)")
    batch_size: int = setting(64, "windows per batch")
    epochs: int = setting(130, "most epochs to train (the paper: 130)")
    patience: int = setting(
        20, "stop after this many epochs without a better one: a lower validation loss (the paper: 20), or answer score (select_by)"
    )
    select_by: Literal["auto", "loss", "answers"] = setting(
        "auto",
        "which epoch's weights the model keeps, and what patience counts: 'loss' the lowest validation loss; 'answers' "
        "the answers that move most like the validation split's music (realism + autocorrelation MMD², [evaluate]'s "
        "temperatures, select_prompts prompts of 2 answers each; docs/model.md, round 6); 'auto' answers where the "
        "validation split holds a prompt and a reference for them, else loss",
    )
    select_prompts: int = setting(30, "prompts from the validation split that judge every epoch's answers (select_by = 'answers')")
    sequence_length: int = setting(50, "steps per training window (IMPSY: 50)")
    window_stride: int = setting(1, "steps between the starts of successive training windows (IMPSY: 1)")
    scale_factor: float = setting(1.0, "inputs and targets are multiplied by this (IMPSY: 10, which adds D ln 10 nats to the loss)")
    dequantise: bool = setting(
        True,
        "add uniform noise within each value's resolution (corpus.resolution) to every training batch, and fixed noise to "
        "validation and test, so the NLL is a density (Theis et al. 2016); false = the raw values (the paper)",
    )
    transpose: bool = setting(
        False,
        "augment: rotate each training window's chroma by a random number of semitones (the same playing in another key; "
        "applies where the corpus has the 12 chroma features in order; a no-op otherwise). Off by default: on the whole "
        "stems it cost the answers' dynamics (docs/model.md, Ablation)",
    )
    rollout_steps: int = setting(
        0,
        "the last N steps of each training window are fed the model's own draws instead of the music (scheduled "
        "sampling): it learns the states its answers lead to; 0 = teacher forcing throughout (the paper)",
    )
    input_noise: float = setting(
        0.0,
        "standard deviation of Gaussian noise added to the training inputs only (a fraction of each feature's range; the "
        "targets stay clean): the model learns to steer a drifting answer back, as its own samples are its inputs",
    )
    average_decay: float = setting(
        0.0,
        "keep an exponential moving average of the weights, updated after every batch with this decay (0.99: a "
        "half-life of 69 batches); the average, not the last weights, is judged at each epoch's end and kept. "
        "0 = none (the paper; measured: it forecasts better, its answers move less like the music; docs/model.md, round 17)",
    )
    seed: int = setting(0, "seed of the weights, the batch order and dropout")
    precision: Literal["float32", "bfloat16", "auto"] = setting(
        "float32",
        "arithmetic of the LSTM layers in training: float32, or bfloat16 (autocast; weights, mixture head, loss, optimizer and "
        "validation stay float32): fast where the processor has bfloat16 natively (AVX-512 BF16, AMX, a GPU), several times "
        "slower elsewhere; auto = bfloat16 where native, else float32",
    )
    device: str = setting("cpu", "where training runs: cpu, cuda (the first GPU), cuda:N, or auto (a GPU when PyTorch sees one)")

    def __post_init__(self) -> None:
        checks = [
            (
                self.device in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", self.device) is not None,
                f"device must be cpu, cuda, cuda:N or auto, got {self.device!r}",
            ),
            (self.input_noise >= 0, f"input_noise must be >= 0, got {self.input_noise}"),
            (0 <= self.average_decay < 1, f"average_decay must be in [0, 1), got {self.average_decay}"),
            (
                0 <= self.rollout_steps < self.sequence_length,
                f"rollout_steps must be in [0, sequence_length), got {self.rollout_steps}",
            ),
            (self.lr is None or self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (not self.nesterov or self.momentum > 0, "nesterov needs momentum > 0"),
            (self.decay >= 0, f"decay must be >= 0, got {self.decay}"),
            (0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1, "beta_1 and beta_2 must be in [0, 1)"),
            (self.epsilon > 0, f"epsilon must be > 0, got {self.epsilon}"),
            (self.rho is None or 0 < self.rho < 1, f"rho must be in (0, 1), got {self.rho}"),
            (self.l1 >= 0 and self.l2 >= 0, "l1 and l2 must be >= 0"),
            (self.clip_norm is None or self.clip_norm > 0, f"clip_norm must be > 0, got {self.clip_norm}"),
            (self.clip_value is None or self.clip_value > 0, f"clip_value must be > 0, got {self.clip_value}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (self.select_prompts >= 2, f"select_prompts must be >= 2, got {self.select_prompts}"),
            (self.sequence_length >= 2, f"sequence_length must be >= 2, got {self.sequence_length}"),
            (self.window_stride >= 1, f"window_stride must be >= 1, got {self.window_stride}"),
            (self.scale_factor > 0, f"scale_factor must be > 0, got {self.scale_factor}"),
            (
                self.optimizer != "nadam" or self.decay == 0,
                "decay does not apply to nadam: Keras takes nadam's decay argument as its momentum schedule",
            ),
            (
                self.optimizer in ("sgd",) or (self.momentum == 0 and not self.nesterov),
                f"momentum and nesterov are sgd settings, not {self.optimizer}'s",
            ),
        ]
        require(checks, "training")

    @property
    def learning_rate(self) -> float:
        """``lr``, or the Keras default of the optimizer."""
        return self.lr if self.lr is not None else KERAS_DEFAULT_LR[self.optimizer]


#: the sampling temperatures every answer starts with -- generate, serve and evaluate alike: what
#: measured best on the demo corpus (docs/model.md, "What the answers are judged by")
PI_TEMPERATURE = 0.5
SIGMA_TEMPERATURE = 0.5
PLAYED_SIGMA_TEMPERATURE = 1.0
CHROMA_SIGMA_TEMPERATURE = 1.0
#: the time constant, s, with which an answer's course returns toward its prompt's register (docs/model.md, round 13)
REGISTER_PULL_S = 0.25
#: how much better a rotation of the heard pitch classes must match a training song than the pitch classes as heard
#: (a difference of correlations) before the model answers in a shifted key (docs/model.md, round 14)
KEY_MARGIN = 0.5


@dataclass(frozen=True)
class GenerateConfig:
    """Offline improvisation (paper III-D/E): a prompt, then the model's continuation."""

    prompt_ms: float = setting(
        917.0, "prompt length, ms: the frames from prompt_start_ms up to (not including) prompt_start_ms + prompt_ms"
    )
    prompt_start_ms: float | None = setting(
        None, "where the prompt starts, ms on the prompt file's own clock (unset: at its first frame, whatever its time)"
    )
    duration_s: float = setting(5.0, "length of the continuation, seconds")
    pi_temperature: float = setting(PI_TEMPERATURE, "temperature of the mixture weights (< 1: the likeliest component more often)")
    sigma_temperature: float = setting(
        SIGMA_TEMPERATURE,
        "variance scale of the sampled component in the frames fed back, the answer's course (0: its mean; 1: the model's spread)",
    )
    played_sigma_temperature: float = setting(
        PLAYED_SIGMA_TEMPERATURE, "the same in the frames played: the same draw, its noise scaled by this instead (1: the model's spread)"
    )
    chroma_sigma_temperature: float = setting(
        CHROMA_SIGMA_TEMPERATURE, "the same for the 12 chroma values (sigma_temperature scales the other features')"
    )
    dt_temperature: float = setting(1.0, "variance scale of sampled time steps, where the model samples dt (0: the mean step)")
    register_pull_s: float = setting(
        REGISTER_PULL_S,
        "time constant, s, with which the answer's course returns toward its prompt's register (the running level when "
        "the answer began) in every feature but the chroma; 0 = no pull",
    )
    follow_key: bool = setting(
        True,
        "answer in the prompt's key: where the prompt's pitch classes, moved by some semitones, match a training song's "
        "better than as they are (by more than key_margin), the model hears them moved and its answer is moved back",
    )
    key_margin: float = setting(KEY_MARGIN, "how much better (a difference of correlations, 0-2) the moved pitch classes must match")
    hold_chroma_mass: bool = setting(
        True,
        "hold the weaker pitch classes of the frames played, together, no stronger than in the prompt (the running sum of "
        "the classes below the strongest, 1 s): the answer's chroma keeps its prompt's contrast instead of blurring",
    )
    min_dt_s: float = setting(0.001, "sampled time steps are at least this long, s (and never outside the range seen in training)")
    clip: bool = setting(True, "clip sampled features to the training range (normalised [0, 1])")
    plot_features: tuple[str, ...] = setting(
        ("Chroma03", "Chroma04", "Chroma05", "SpectralSkewness"), "features drawn in the prompt-then-prediction figure"
    )
    seed: int = setting(0, "seed of the sampling")

    def __post_init__(self) -> None:
        if self.prompt_ms <= 0 or self.duration_s <= 0:
            raise ConfigError("generate.prompt_ms and generate.duration_s must be > 0")
        require(temperature_checks(self), "generate")
        if self.min_dt_s <= 0:
            raise ConfigError(f"generate.min_dt_s must be > 0, got {self.min_dt_s}")


@dataclass(frozen=True)
class EvaluateConfig:
    """``antiphon evaluate`` (docs/evaluation.md): prompts from the test split, answers, and honest measures."""

    prompt_ms: float = setting(917.0, "prompt length, ms (the paper's 917)")
    horizon_s: float = setting(5.0, "length of every answer, s (realism, dynamics and novelty are measured on it)")
    horizons_s: tuple[float, ...] = setting(
        (0.05, 0.25, 1.0, 5.0), "lead times at which the energy score compares answers with what really followed, s"
    )
    max_prompts: int = setting(200, "at most this many prompts, back to back (not overlapping) over the test blocks")
    n_samples: int = setting(8, "answers per prompt (the ensemble the energy score judges)")
    window_s: float = setting(0.5, "length of the windows compared for realism, s")
    lags: tuple[int, ...] = setting((1, 4, 16), "lags (frames) of the autocorrelation compared for dynamics")
    reference: Literal["validation", "test"] = setting(
        "validation",
        "the real music realism and dynamics compare answers with: the validation split (never trained on, never prompted)"
        " or the test split (the music being answered: for a song held out whole, that song rather than the training songs)",
    )
    conditioning_horizon_s: float = setting(1.0, "lead time of the energy score in the conditioning measure, s")
    var_max_order: int = setting(8, "largest VAR order tried; the order is chosen on the validation split")
    novelty_rows: int = setting(50, "rows of an answer compared with every training window of that length")
    copy_threshold: float = setting(0.02, "RMS distance (normalised) to a training window under which an answer counts as a copy")
    n_bootstrap: int = setting(1000, "bootstrap resamples (over prompts) for every interval")
    plot_features: tuple[str, ...] = setting(
        ("Chroma03", "Chroma04", "Chroma05", "SpectralSkewness"), "features drawn in the answers figure"
    )
    pi_temperature: float = setting(PI_TEMPERATURE, "temperature of the mixture weights of the model's answers (as generate's)")
    sigma_temperature: float = setting(SIGMA_TEMPERATURE, "variance scale of the sampled component fed back (as generate's)")
    played_sigma_temperature: float = setting(PLAYED_SIGMA_TEMPERATURE, "the same in the frames played, and judged (as generate's)")
    chroma_sigma_temperature: float = setting(CHROMA_SIGMA_TEMPERATURE, "the same for the 12 chroma values (as generate's)")
    dt_temperature: float = setting(1.0, "variance scale of sampled time steps, where the model samples dt (as generate's)")
    register_pull_s: float = setting(REGISTER_PULL_S, "time constant of the answer's pull toward its prompt's register, s (as generate's)")
    follow_key: bool = setting(True, "answer in the prompt's key (as generate's)")
    key_margin: float = setting(KEY_MARGIN, "how much better the moved pitch classes must match (as generate's)")
    hold_chroma_mass: bool = setting(True, "hold the answer's chroma to its prompt's contrast (as generate's)")
    seed: int = setting(0, "seed of the sampling, the baselines and the bootstrap")

    def __post_init__(self) -> None:
        checks = [
            *temperature_checks(self),
            (self.prompt_ms > 0 and self.horizon_s > 0 and self.window_s > 0, "prompt_ms, horizon_s and window_s must be > 0"),
            (bool(self.horizons_s) and all(0 < h <= self.horizon_s for h in self.horizons_s), "horizons_s must be in (0, horizon_s]"),
            (0 < self.conditioning_horizon_s <= self.horizon_s, "conditioning_horizon_s must be in (0, horizon_s]"),
            (self.max_prompts >= 2 and self.n_samples >= 2, "max_prompts and n_samples must be >= 2"),
            (bool(self.lags) and all(lag >= 1 for lag in self.lags), "lags must be >= 1"),
            (self.var_max_order >= 1 and self.novelty_rows >= 2, "var_max_order must be >= 1 and novelty_rows >= 2"),
            (self.n_bootstrap >= 100, f"n_bootstrap must be >= 100, got {self.n_bootstrap}"),
        ]
        require(checks, "evaluate")


@dataclass(frozen=True)
class RealtimeConfig:
    """``antiphon serve`` and ``antiphon play`` (design §5): OSC addresses, ports, timing, modes."""

    host: str = setting("127.0.0.1", "address serve listens on (127.0.0.1: this machine only)")
    port: int = setting(9000, "UDP port serve listens on for frames and control (0: any free port)")
    send_host: str = setting("127.0.0.1", "where answers go")
    send_port: int = setting(9001, "UDP port answers go to (a fixed port: Max's udpreceive cannot follow the sender's)")
    frame_address: str = setting("/antiphon/frame", "incoming frames: one float per model feature, in the model's order")
    prediction_address: str = setting("/antiphon/prediction", "outgoing answers: the same layout as frames")
    control_prefix: str = setting("/antiphon", "control messages are <prefix>/mode, /pi_temperature, ...")
    mode: ModeName = setting("callresponse", f"interaction mode at start: {', '.join(get_args(ModeName))} (antiphon serve --help)")
    silence_s: float = setting(0.3, "call-and-response: answer once the performer has been silent this long, s")
    pi_temperature: float = setting(PI_TEMPERATURE, "temperature of the mixture weights at start (as generate's)")
    sigma_temperature: float = setting(SIGMA_TEMPERATURE, "variance scale of the sampled component fed back at start (as generate's)")
    played_sigma_temperature: float = setting(PLAYED_SIGMA_TEMPERATURE, "the same in the frames sent, at start (as generate's)")
    chroma_sigma_temperature: float = setting(CHROMA_SIGMA_TEMPERATURE, "the same for the 12 chroma values at start (as generate's)")
    dt_temperature: float = setting(1.0, "variance scale of sampled time steps, where the model samples dt")
    register_pull_s: float = setting(
        REGISTER_PULL_S, "time constant of the answer's pull toward its prompt's register at start, s (as generate's)"
    )
    follow_key: bool = setting(True, "answer in the key the performer plays in (as generate's; the last 30 s heard)")
    key_margin: float = setting(KEY_MARGIN, "how much better the moved pitch classes must match (as generate's)")
    hold_chroma_mass: bool = setting(True, "hold the answer's chroma to the contrast of what was heard (as generate's; the last 1 s)")
    max_answer_s: float = setting(
        30.0,
        "call-and-response: an answer ends after this long if the performer has not played again, and the next waits"
        " for them (0: it plays until they do; the log grows about 25 kB per second of answer)",
    )
    min_dt_s: float = setting(0.001, "answer frames are at least this far apart, s")
    bundles: bool = setting(
        False,
        "send each answer frame as an OSC bundle timetagged with when it should sound (its send deadline + bundle_lead_s, "
        "wall clock), for peers that schedule by timetag (SuperCollider, liblo); false = plain messages, played on arrival",
    )
    bundle_lead_s: float = setting(0.02, "with bundles: how far after its send deadline a frame's timetag lies (absorbs network jitter), s")
    ahead_frames: int = setting(8, "answer frames generated ahead of their send time")
    receive_buffer_bytes: int = setting(4 << 20, "socket receive buffer (bursts of 5,000 frames fit in 4 MiB)")
    max_packet_bytes: int = setting(8192, "larger datagrams are counted as oversize and dropped")
    max_timetag_ahead_s: float = setting(1.0, "bundles timetagged further ahead than this are counted and dropped")
    log_dir: str = setting("sessions", "folder for session logs (one JSON Lines file per session)")
    seed: int = setting(0, "seed of the sampling")

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.port < 65536 and 0 < self.send_port < 65536, "ports must be in 1..65535 (listen port: 0 = any)"),
            (self.silence_s > 0, f"silence_s must be > 0, got {self.silence_s}"),
            *temperature_checks(self),
            (self.min_dt_s > 0, f"min_dt_s must be > 0, got {self.min_dt_s}"),
            (self.max_answer_s >= 0, f"max_answer_s must be >= 0 (0: no bound), got {self.max_answer_s}"),
            (self.ahead_frames >= 1, f"ahead_frames must be >= 1, got {self.ahead_frames}"),
            (self.max_packet_bytes >= 64, f"max_packet_bytes must be >= 64, got {self.max_packet_bytes}"),
            (self.max_timetag_ahead_s >= 0, "max_timetag_ahead_s must be >= 0"),
            (0 <= self.bundle_lead_s <= 1.0, f"bundle_lead_s must be in [0, 1] s, got {self.bundle_lead_s}"),
        ]
        for address in (self.frame_address, self.prediction_address, self.control_prefix):
            checks.append((address.startswith("/") and not any(c in address for c in "*?[]{} #,"), f"bad OSC address {address!r}"))
        require(checks, "realtime")


@dataclass(frozen=True)
class LiveConfig:
    """``antiphon live`` (docs/live.md): audio in, the model's analysis, answers as sound; the session's
    modes, silence rule, temperatures and OSC controls are ``realtime``'s."""

    input: str = setting(
        "",
        "audio in: an input device (name, part of a name, or index: antiphon live --list-devices) or an audio file played"
        " at its real rate; '' = the default input device",
    )
    output: str = setting("", "audio out for the answers: a device (name or index); '' = none (answers over OSC or into --record)")
    block_frames: int = setting(256, "samples per audio block (the sound card's buffer): smaller = lower latency, more CPU")
    gate_dbfs: float = setting(
        -50.0, "frames quieter than this (RMS over the analysis window, dB full scale) are the performer's silence: not fed to the model"
    )
    level_follow_s: float = setting(
        2.0, "the answer's level follows the performer's over about this long, s (models without a level feature)"
    )
    tail_s: float = setting(6.0, "with a file as input: keep listening and answering this long after the file ends, s")

    def __post_init__(self) -> None:
        require(
            [
                (16 <= self.block_frames <= 8192, f"block_frames must be in 16..8192, got {self.block_frames}"),
                (-140.0 <= self.gate_dbfs <= 0.0, f"gate_dbfs must be in [-140, 0] dB full scale, got {self.gate_dbfs}"),
                (self.level_follow_s > 0, f"level_follow_s must be > 0, got {self.level_follow_s}"),
                (self.tail_s >= 0, f"tail_s must be >= 0, got {self.tail_s}"),
            ],
            "live",
        )


@dataclass(frozen=True)
class Config:
    """The whole configuration: one section per stage of the pipeline."""

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig, metadata={"doc": "audio analysis"})
    corpus: CorpusConfig = field(default_factory=CorpusConfig, metadata={"doc": "training corpus"})
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"doc": "the MDRNN"})
    training: TrainingConfig = field(default_factory=TrainingConfig, metadata={"doc": "training"})
    generate: GenerateConfig = field(default_factory=GenerateConfig, metadata={"doc": "offline improvisation"})
    realtime: RealtimeConfig = field(default_factory=RealtimeConfig, metadata={"doc": "real time over OSC"})
    live: LiveConfig = field(default_factory=LiveConfig, metadata={"doc": "antiphon live: audio in, answers as sound"})
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig, metadata={"doc": "judging answers (docs/evaluation.md)"})


# --------------------------------------------------------------------------------------------
# Loading


def load_config(path: Path | str | None = None, overrides: Sequence[str] = ()) -> Config:
    """Read ``path`` (TOML; ``None`` = all defaults) and apply ``section.key=value`` overrides.

    Override values are parsed as TOML values (``8``, ``0.5``, ``true``, ``"hann"``); a value that
    is not valid TOML is taken as a string, so ``--set analysis.window=hann`` works unquoted.
    Keys and types are checked where they are written (the file, or each ``--set``); rules that
    tie settings together (``nesterov`` needs ``momentum``) are checked on the final settings.

    Raises:
        ConfigError: unreadable file, invalid TOML, unknown key, wrong type or bad value; the
            message starts with the file name or the ``--set`` argument.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        data = _checked(Config, read_toml(path, "config file"), source, prefix="")
    for item in overrides:
        key, value = _parse_override(item)
        data = _merge(data, key.split("."), value)
        data = _checked(Config, data, f"--set {item}", prefix="")
    if overrides:
        source = f"{path} with --set" if path is not None else "--set"
    return _construct(Config, data, source)


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, raw_value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw_value}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw_value.strip()
    return key, value


def _merge(data: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """A copy of nested ``data`` with ``parts`` set to ``value`` (sections created as needed)."""
    out = dict(data)
    if len(parts) == 1:
        out[parts[0]] = value
    else:
        child = out.get(parts[0], {})
        out[parts[0]] = _merge(child if isinstance(child, dict) else {}, parts[1:], value)
    return out


def to_dict(config: Any) -> dict[str, Any]:
    """The config as nested plain dicts (``None`` fields omitted, as TOML has no null)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        elif value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def from_dict(cls: type, data: Mapping[str, Any], source: str) -> Any:
    """Build dataclass ``cls`` from plain data, with the same checks as the TOML loader."""
    return _construct(cls, _checked(cls, data, source, prefix=""), source)


def to_toml(config: Any, with_docs: bool = True, sections: Sequence[str] | None = None) -> str:
    """The config as TOML text; with ``with_docs`` each key is preceded by its doc as a comment.

    ``sections`` keeps only those top-level sections (all by default).
    """
    lines: list[str] = []
    for f in dataclasses.fields(config):
        if sections is None or f.name in sections:
            _emit_toml(getattr(config, f.name), f.name, lines, with_docs)
    return "\n".join(lines).lstrip("\n") + "\n"


def _emit_toml(config: Any, prefix: str, lines: list[str], with_docs: bool) -> None:
    import tomli_w

    scalars = [f for f in dataclasses.fields(config) if not dataclasses.is_dataclass(getattr(config, f.name))]
    tables = [f for f in dataclasses.fields(config) if dataclasses.is_dataclass(getattr(config, f.name))]
    if prefix and scalars:
        lines.append(f"\n[{prefix}]")
    for f in scalars:
        value = getattr(config, f.name)
        if with_docs and f.metadata.get("doc"):
            lines.append(f"# {f.metadata['doc']}")
        if value is None:
            lines.append(f"# {f.name} = (convention default)")
        else:
            lines.append(tomli_w.dumps({f.name: list(value) if isinstance(value, tuple) else value}).strip())
    for f in tables:
        _emit_toml(getattr(config, f.name), f"{prefix}.{f.name}" if prefix else f.name, lines, with_docs)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a settings dataclass, evaluated once per class (the annotations
    are strings; evaluating them was most of the time building the command line)."""
    return get_type_hints(cls)


@dataclass(frozen=True)
class SettingInfo:
    """One setting as the command line offers it: ``section.key``, its type, its choices (a
    Literal's values, else None), its default and its doc."""

    key: str
    type: type
    choices: tuple[Any, ...] | None
    default: Any
    doc: str


def setting_info(key: str) -> SettingInfo:
    """What the settings' own declarations say of ``section.key`` (the CLI's shorthand flags take
    their type, choices and help from here).

    Raises:
        KeyError: no such setting.
    """
    section, name = key.split(".")
    section_type = _hints(Config)[section]
    declared = {f.name: f for f in dataclasses.fields(section_type)}[name]
    tp = _hints(section_type)[name]
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) is Literal:
        kind, choices = type(args[0]), tuple(args)
    elif get_origin(tp) is not None:  # X | None
        kind, choices = args[0], None
    else:
        kind, choices = tp, None
    return SettingInfo(key, kind, choices, declared.default, declared.metadata.get("doc", ""))


def _checked(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> dict[str, Any]:
    """``data`` with every key known and every value of the right type (converted), else ConfigError."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: '{prefix.rstrip('.') or 'config'}' must be a table, got {_type_name(data)}")
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            if prefix == "" and dataclasses.is_dataclass(cls) and isinstance(value, Mapping):
                raise ConfigError(f"{source}: unknown section '{key}' (known: {', '.join(sorted(known))})")
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known in this section: {', '.join(sorted(known))})")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            out[key] = _checked(tp, value, source, prefix=f"{prefix}{key}.")
        else:
            out[key] = _coerce(tp, value, f"{prefix}{key}", source)
    return out


def _construct(cls: type, data: Mapping[str, Any], source: str) -> Any:
    """Instantiate checked data; a rule broken across settings is reported against ``source``."""
    hints = _hints(cls)
    kwargs = {k: _construct(hints[k], v, source) if dataclasses.is_dataclass(hints[k]) else v for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        if str(exc).startswith(f"{source}: "):
            raise
        raise ConfigError(f"{source}: {exc}") from exc


def _coerce(tp: Any, value: Any, key: str, source: str) -> Any:
    ok, converted = _try_coerce(tp, value)
    if not ok:
        raise ConfigError(f"{source}: {key} must be {_describe(tp)}, got {_type_name(value)} {value!r}")
    return converted


def _try_coerce(tp: Any, value: Any) -> tuple[bool, Any]:
    origin = get_origin(tp)
    if origin is Literal:
        return (value in get_args(tp) and not isinstance(value, bool)), value
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if arg is type(None):
                continue
            ok, converted = _try_coerce(arg, value)
            if ok:
                return True, converted
        return False, None
    if origin is tuple:
        item_tp = get_args(tp)[0]
        if not isinstance(value, list | tuple):
            return False, None
        items = [_try_coerce(item_tp, v) for v in value]
        return all(ok for ok, _ in items), tuple(v for _, v in items)
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        return False, None
    if tp is str:
        return isinstance(value, str), value
    return False, None


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(tp, str(tp))


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)
