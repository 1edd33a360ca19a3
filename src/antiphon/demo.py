"""The main job (``antiphon demo``, run by ``make demo``): the bundled recordings through the whole path.

analyze (JSON + PNG per recording) -> dataset -> train a small model for a few epochs ->
generate a continuation of a prompt the model never saw (the held-out test block of one
recording) -> JSON + PNG + WAV (prompt and answer) -> evaluate the model against baselines on
the test split -> serve the model over OSC, play the same prompt into it from another socket,
and record its real-time answer -> JSON + PNG (and the session log) -> play the prompt's audio
into ``antiphon live`` at its real rate and record what it answers as sound (WAV: the input
left, the answer right; no sound card needed) -> a small optimizer study
on Dask (the bundled ``demo`` spec: three optimizers, two seeds, a few epochs) and its report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from antiphon.analysis import AnalyzedFile, analyze_files
from antiphon.config import Config
from antiphon.data.analysis_json import AnalysisDocument, read_analysis, write_analysis
from antiphon.data.corpus import Corpus, CorpusFile

if TYPE_CHECKING:
    from antiphon.study.spec import StudySpec

#: settings the demo uses unless the user sets them: few epochs, so it ends in a few minutes
DEMO_OVERRIDES: tuple[str, ...] = ("training.epochs=6", "training.patience=4")


def demo_corpus() -> list[Path]:
    """The bundled demo recordings: four guitar stems, whole (13.5 minutes; Ogg Vorbis; licence in
    demo_corpus/COPYRIGHT). The demo trains on them and the held-out-song benchmark holds one out."""
    return _oggs(resources.files("antiphon") / "demo_corpus")


def demo_excerpts() -> list[Path]:
    """60 s of each demo recording, where the guitar plays without pauses: short real music for the
    tests and the speed benchmarks (demo_corpus/excerpts/SOURCES.md)."""
    return _oggs(resources.files("antiphon") / "demo_corpus" / "excerpts")


def _oggs(folder: Traversable) -> list[Path]:
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".ogg"))


@dataclass(frozen=True)
class DemoResult:
    analyzed: list[AnalyzedFile]
    corpus: Corpus
    corpus_dir: Path
    train: object  # antiphon.training.loop.TrainResult
    prompt_path: Path
    continuation_path: Path
    figure_path: Path
    n_predicted: int
    live_path: Path
    live_figure_path: Path
    live_frames: int
    live_first_answer_ms: float
    session_log: Path
    live_audio: Path  # antiphon live's recording: the prompt's audio left, the answer right
    live_audio_status: dict
    answer_wav: Path
    prompt_wav: Path
    evaluation: object  # antiphon.evaluation.evaluate.EvaluationReport
    evaluation_dir: Path
    study_dir: Path
    study_report: dict


def held_out_prompt(document: AnalysisDocument, file: CorpusFile) -> AnalysisDocument:
    """The frames of ``file``'s test block, times shifted to start one frame interval after 0."""
    start, stop = file.segments["test"]
    frames = slice(start + 1, stop + 1)  # row i of a corpus file is frame i + 1 of its document
    times = document.times_ms[frames]
    times = times - times[0] + float(np.median(np.diff(document.times_ms)))
    return document.with_frames(times, {name: values[frames] for name, values in document.features.items()})


def _fresh_model_folder(folder: Path) -> Path:
    """The demo's model folder, emptied of a previous demo run (anything else there is an error)."""
    import shutil

    from antiphon.errors import ModelError

    if folder.exists():
        ours = {"model.json", "model.safetensors", "checkpoint.safetensors", "config.toml", "history.json", "history.csv", "training.png"}
        names = {p.name for p in folder.iterdir()}
        if not names <= ours:
            raise ModelError(f"{folder}: holds files the demo did not write ({', '.join(sorted(names - ours))}); choose another -o")
        shutil.rmtree(folder)
    return folder


def run_demo(
    out_dir: Path,
    config: Config,
    *,
    on_file: Callable[[Path], None] | None = None,
    training_progress: object | None = None,
    study_progress: object | None = None,
    study_spec: str = "demo",
    recordings: Sequence[Path] | None = None,
) -> DemoResult:
    """Run the whole path on the demo corpus (or ``recordings``: audio files) into ``out_dir``
    (analysis/, corpus/, model/, generated/, evaluation/, live/, study/); the study is
    ``study_spec``, a bundled spec's name or a spec file (:func:`~antiphon.study.spec.resolve_spec`).
    The prompt is the test block of the recording whose name holds "feelings", else the first's.

    Raises:
        ConfigError: a bad setting or study spec (checked before any work starts).
        DataError: a recording is missing or not audio (checked before any analysis).
    """
    from antiphon.study.spec import load_spec, resolve_spec

    spec = load_spec(resolve_spec(study_spec))
    from antiphon.data.corpus import build_corpus, save_corpus
    from antiphon.generate import generate
    from antiphon.training.loop import train

    analyzed = analyze_files(recordings or demo_corpus(), out_dir / "analysis", config.analysis, plot=True, on_file=on_file)
    documents = [read_analysis(a.json_path) for a in analyzed]
    corpus = build_corpus(documents, config.corpus)
    corpus_dir = save_corpus(corpus, out_dir / "corpus")
    result = train(corpus, config, _fresh_model_folder(out_dir / "model"), progress=training_progress)

    generated = out_dir / "generated"
    index = next((i for i, a in enumerate(analyzed) if "feelings" in a.audio_path.name), 0)
    prompt_path = generated / f"prompt_{analyzed[index].audio_path.stem}_test_block.json"
    write_analysis(prompt_path, held_out_prompt(documents[index], corpus.files[index]))
    continuation_path = generated / "continuation.json"
    figure_path = generated / "continuation.png"
    continuation = generate(result.folder, prompt_path, continuation_path, config.generate, plot_path=figure_path)
    from antiphon.evaluation.evaluate import evaluate
    from antiphon.generate import render_continuation
    from antiphon.model.directory import load_model

    answer_wav = generated / "continuation.wav"
    prompt_wav = render_continuation(continuation, answer_wav)
    evaluation = evaluate(load_model(result.folder), corpus, config.evaluate, out_dir / "evaluation")
    live_path, live_figure, session_log = _serve_and_record(result.folder, prompt_path, out_dir, config)
    start_ms = float(documents[index].times_ms[corpus.files[index].segments["test"][0] + 1])
    live_audio, live_status = _live_from_sound(result.folder, analyzed[index].audio_path, start_ms, out_dir, config)
    study_dir, study_report = _small_study(spec, corpus_dir, out_dir / "study", study_progress)
    return DemoResult(
        analyzed,
        corpus,
        corpus_dir,
        result,
        prompt_path,
        continuation_path,
        figure_path,
        int(continuation.times_ms.size),
        live_path,
        live_figure,
        *live_figure_stats(live_path),
        session_log,
        live_audio,
        live_status,
        answer_wav,
        prompt_wav,
        evaluation,
        out_dir / "evaluation",
        study_dir,
        study_report,
    )


def _small_study(spec: StudySpec, corpus_dir: Path, folder: Path, progress: object | None) -> tuple[Path, dict]:
    """The study ``spec`` on the demo corpus, from scratch, and its report."""
    import shutil

    from antiphon.errors import ConfigError
    from antiphon.study.report import write_report
    from antiphon.study.runner import run_study
    from antiphon.study.store import STUDY_FILE, prepare_study

    if folder.exists():
        if not (folder / STUDY_FILE).exists() and any(folder.iterdir()):
            raise ConfigError(f"{folder}: holds files the demo did not write; choose another -o")
        shutil.rmtree(folder)
    prepare_study(spec, folder, corpus_dir)
    run_study(folder, progress=progress)
    return folder, write_report(folder)


def live_figure_stats(path: Path) -> tuple[int, float]:
    document = read_analysis(path)
    return document.n_frames, float(document.metadata.get("first_answer_after_ms", float("nan")))


#: seconds of the prompt's recording ``antiphon live`` hears in the demo before it falls silent
LIVE_PROMPT_S = 4.0


def _live_from_sound(model_dir: Path, audio_path: Path, start_ms: float, out_dir: Path, config: Config) -> tuple[Path, dict]:
    """Play LIVE_PROMPT_S of ``audio_path`` from ``start_ms`` into ``antiphon live`` at its real rate,
    then silence long enough for one answer; returns the recording (input left, answer right) and live's status."""
    import dataclasses

    import soundfile as sf

    from antiphon.data.audio import load_audio
    from antiphon.realtime.live import LiveSession

    audio = load_audio(audio_path)
    first = int(start_ms / 1000 * audio.sample_rate_hz)
    excerpt = out_dir / "live" / "prompt_audio.wav"
    excerpt.parent.mkdir(parents=True, exist_ok=True)
    sf.write(excerpt, audio.samples[first : first + int(LIVE_PROMPT_S * audio.sample_rate_hz)], audio.sample_rate_hz, subtype="FLOAT")
    answer_s = config.generate.duration_s
    live_config = dataclasses.replace(
        config,
        realtime=dataclasses.replace(config.realtime, port=0, max_answer_s=answer_s),
        live=dataclasses.replace(config.live, input=str(excerpt), output="", tail_s=config.realtime.silence_s + answer_s + 0.5),
    )
    recording = out_dir / "live" / "answer_audio.wav"
    live = LiveSession(model_dir, live_config, out_dir / "sessions" / "demo-live.jsonl", record_path=recording)
    live.start()
    live.wait()
    live.stop()
    return recording, live.status()


def _serve_and_record(model_dir: Path, prompt_path: Path, out_dir: Path, config: Config) -> tuple[Path, Path, Path]:
    """Serve the model, play the prompt into it over OSC, record the answer as JSON + PNG."""
    from antiphon.model.engine import Engine
    from antiphon.realtime.rehearsal import rehearse
    from antiphon.render.plots import plot_continuation, save_figure

    prompt = read_analysis(prompt_path)
    prompt_ms = config.generate.prompt_ms
    session_log = out_dir / "sessions" / "demo-session.jsonl"
    recording = rehearse(Engine.from_model_dir(model_dir), config.realtime, prompt, prompt_ms, config.generate.duration_s, session_log)
    live_path = out_dir / "live" / "answer.json"
    live_figure = out_dir / "live" / "answer.png"
    features = recording.features
    answer = prompt.with_frames(recording.times_ms, {n: recording.values[:, i] for i, n in enumerate(features)}).with_metadata(
        {
            "format": "antiphon-analysis",
            "format_version": 1,
            "kind": "prediction",
            "time": {"unit": "ms", "reference": "from the first answer frame received over OSC"},
            "model": str(model_dir.name),
            "prompt": {"file": prompt_path.name, "prompt_ms": prompt_ms},
            "first_answer_after_ms": recording.first_answer_after_ms,
            "session_log": str(session_log),
        }
    )
    write_analysis(live_path, answer)
    shown = [n for n in config.generate.plot_features if n in features] or list(features[:4])
    in_prompt = prompt.times_ms <= prompt_ms
    figure = plot_continuation(
        prompt.times_ms[in_prompt],
        {n: prompt.features[n][in_prompt] for n in shown},
        recording.times_ms + (recording.first_answer_after_ms if recording.times_ms.size else 0.0),
        {n: recording.values[:, features.index(n)] for n in shown},
        title=f"live over OSC: {prompt_ms:g} ms played into `serve`, then its answer (silence {config.realtime.silence_s:g} s)",
    )
    save_figure(figure, live_figure)
    return live_path, live_figure, session_log
