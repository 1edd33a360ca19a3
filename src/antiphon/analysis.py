"""Audio files -> analysis JSON documents (the ``antiphon analyze`` arrow of the design)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antiphon import __version__
from antiphon.config import AnalysisConfig, to_dict
from antiphon.data.analysis_json import FORMAT_VERSION, AnalysisDocument, new_document, write_analysis
from antiphon.data.audio import Audio, check_audio_file, load_audio
from antiphon.errors import DataError
from antiphon.features import CATEGORIES, CHROMA_NAMES, CHROMA_ORDER, UNITS, analyze_signal

#: categories of the instrument's file that antiphon's analyzer does not produce, and why (none since the
#: Harmonic and Perceptual categories were added; the field stays in the format for files that lack some)
ABSENT_CATEGORIES: dict[str, str] = {}


def analyze_audio(audio: Audio, config: AnalysisConfig | None = None) -> AnalysisDocument:
    """All descriptors of ``audio`` as an analysis document in the instrument's layout."""
    cfg = (config or AnalysisConfig()).resolved()
    descriptors = analyze_signal(audio.samples, sample_rate_hz=audio.sample_rate_hz, config=cfg)
    metadata: dict[str, Any] = {
        "format": "antiphon-analysis",
        "format_version": FORMAT_VERSION,
        "generator": f"antiphon {__version__}",
        "kind": "analysis",
        "source": {
            "file": audio.path.name,
            "sample_rate_hz": audio.sample_rate_hz,
            "n_channels": audio.n_channels,
            "n_samples": int(audio.samples.size),
            "duration_s": audio.duration_s,
        },
        "analysis": to_dict(cfg),
        "time": {"unit": "ms", "reference": "centre of each analysis frame, from the first sample"},
        "chroma": {"names": list(CHROMA_NAMES), "pitch_classes": list(CHROMA_ORDER)},
        "units": {name: UNITS[name] for name in descriptors.names},
        "categories": {category: list(names) for category, names in CATEGORIES.items()},
        "absent": ABSENT_CATEGORIES,
        "n_silent_frames": descriptors.n_silent,
    }
    features = {name: descriptors.column(name) for name in descriptors.names}
    return new_document(descriptors.times_ms, features, metadata, source=str(audio.path))


@dataclass(frozen=True)
class AnalyzedFile:
    """What :func:`analyze_files` wrote for one input."""

    audio_path: Path
    json_path: Path
    png_path: Path | None
    n_frames: int
    duration_s: float


def output_paths(audio_paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """``OUT_DIR/<stem>.json`` for each input; two inputs with the same stem are an error."""
    seen: dict[str, Path] = {}
    outputs = []
    for path in audio_paths:
        if path.stem in seen:
            raise DataError(f"{path}: would write {path.stem}.json, as {seen[path.stem]} does; rename one of them")
        seen[path.stem] = path
        outputs.append(out_dir / f"{path.stem}.json")
    return outputs


def check_inputs(audio_paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """Check every input and the output folder before any work; return the JSON path of each input.

    Raises:
        DataError: no inputs, an input that is not readable audio, two inputs with the same
            stem, or an output path that is not a folder.
    """
    if not audio_paths:
        raise DataError("no audio files given")
    for path in audio_paths:
        check_audio_file(path)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a directory")
    return output_paths(audio_paths, out_dir)


def analyze_files(
    audio_paths: Sequence[Path | str],
    out_dir: Path | str,
    config: AnalysisConfig | None = None,
    *,
    plot: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> list[AnalyzedFile]:
    """Analyze each file into ``out_dir/<stem>.json`` (and ``<stem>.png`` with ``plot``).

    Every input is checked before any work starts; each output is written atomically.
    ``on_file`` is called after each file (for progress).

    Raises:
        DataError: an input is missing, not audio, empty, or two inputs share a stem.
    """
    paths = [Path(p) for p in audio_paths]
    json_paths = check_inputs(paths, Path(out_dir))
    results = []
    for path, json_path in zip(paths, json_paths):
        audio = load_audio(path)
        document = analyze_audio(audio, config)
        write_analysis(json_path, document)
        png_path = None
        if plot:
            from antiphon.render.plots import plot_analysis, save_figure

            png_path = json_path.with_suffix(".png")
            save_figure(plot_analysis(document, title=path.name), png_path)
        results.append(AnalyzedFile(path, json_path, png_path, document.n_frames, audio.duration_s))
        if on_file is not None:
            on_file(path)
    return results
