"""The main job (``antiphon demo``, run by ``make demo``): the bundled recordings through the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from antiphon.analysis import AnalyzedFile, analyze_files
from antiphon.config import Config


def demo_corpus() -> list[Path]:
    """The bundled demo recordings (Ogg Vorbis guitar stems; licence in demo_corpus/COPYRIGHT)."""
    folder = resources.files("antiphon") / "demo_corpus"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".ogg"))


def run_demo(out_dir: Path, config: Config, on_file: Callable[[Path], None] | None = None) -> list[AnalyzedFile]:
    """Analyze the demo corpus into ``out_dir/analysis`` (JSON + PNG per recording)."""
    return analyze_files(demo_corpus(), out_dir / "analysis", config.analysis, plot=True, on_file=on_file)
