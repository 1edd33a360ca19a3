"""Inputs (analysis JSON, session logs, audio, folders of them) -> a saved corpus (the ``antiphon dataset`` arrow)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from antiphon.config import Config
from antiphon.data.analysis_json import AnalysisDocument, read_analysis
from antiphon.data.audio import AUDIO_EXTENSIONS, check_audio_file, load_audio
from antiphon.data.corpus import Corpus, build_corpus, save_corpus
from antiphon.errors import DataError

#: analysis JSON, session logs of `antiphon serve` (JSON Lines), and audio
INPUT_EXTENSIONS = (".json", ".jsonl", *AUDIO_EXTENSIONS)


def expand_inputs(inputs: Sequence[Path | str]) -> list[Path]:
    """Files as given, folders replaced by the analysis JSON and audio files directly inside them (sorted).

    Raises:
        DataError: a path that does not exist, a file of another type, or a folder with no inputs.
    """
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in INPUT_EXTENSIONS)
            if not found:
                raise DataError(f"{item}: no analysis JSON or audio files ({', '.join(INPUT_EXTENSIONS)}) in this folder")
            files.extend(found)
        elif not item.exists():
            raise DataError(f"{item}: no such file")
        elif item.suffix.lower() not in INPUT_EXTENSIONS:
            raise DataError(f"{item}: unknown extension '{item.suffix or '(none)'}'; give {', '.join(INPUT_EXTENSIONS)}")
        else:
            files.append(item)
    return files


def load_document(path: Path, config: Config) -> AnalysisDocument:
    """An analysis document from a JSON file, a session log (the performer's frames), or audio
    analyzed with ``config.analysis``."""
    if path.suffix.lower() == ".json":
        return read_analysis(path)
    if path.suffix.lower() == ".jsonl":
        from antiphon.data.session_log import read_session_log

        return read_session_log(path)
    from antiphon.analysis import analyze_audio

    return analyze_audio(load_audio(path), config.analysis)


def make_dataset(
    inputs: Sequence[Path | str],
    out_dir: Path | str,
    config: Config,
    on_file: Callable[[Path], None] | None = None,
) -> Corpus:
    """Build a corpus from ``inputs`` and save it in ``out_dir``.

    Every input is read and checked before anything is written.

    Raises:
        DataError: no inputs, an unreadable input, bad times, missing features, an empty split.
    """
    files = expand_inputs(inputs)
    if not files:
        raise DataError("the corpus is empty: no input files")
    for path in files:
        if path.suffix.lower() in AUDIO_EXTENSIONS:
            check_audio_file(path)
    documents = []
    for path in files:
        documents.append(load_document(path, config))
        if on_file is not None:
            on_file(path)
    corpus = build_corpus(documents, config.corpus)
    save_corpus(corpus, out_dir)
    return corpus
