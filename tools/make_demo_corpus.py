"""Build the bundled demo corpus from the Sectoid Frets-on-Fire guitar stems (maintainers only).

Run once by hand; `antiphon demo`, the tests and the benchmarks use only the files this writes
into src/antiphon/demo_corpus/:

- the four stems whole (13.5 minutes, pauses and all): the demo's corpus (`demo_corpus()`) and
  the songs `benchmarks/held_out_song.py` holds out;
- `excerpts/`: 60 s of each where the guitar plays without pauses (`demo_excerpts()`): short real
  music for the tests and the speed benchmarks.

Each is downmixed to mono, peak-normalised to -1 dBFS and stored as Ogg Vorbis.

    python tools/make_demo_corpus.py ../shared/data/audio/sectoid
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

# song folder -> excerpt start (s); chosen where the stem plays without pauses for 60 s.
EXCERPTS: dict[str, float] = {
    "escape_from_chaosland": 20.0,
    "feelings": 30.0,
    "metal_madness": 5.0,
    "war_of_freedom": 30.0,
}
DURATION_S = 60.0
PEAK_DBFS = -1.0
VORBIS_QUALITY = 0.5  # soundfile compression_level: 0 = best quality, 1 = smallest


def write_ogg(samples: np.ndarray, sample_rate_hz: int, dst: Path) -> str:
    """Peak-normalise ``samples`` (mono) and write them as Ogg Vorbis; returns the file's sha256."""
    samples = samples * (10 ** (PEAK_DBFS / 20) / np.max(np.abs(samples)))
    # libsndfile's Vorbis encoder crashes on one very large write; feed it in blocks.
    with sf.SoundFile(dst, "w", sample_rate_hz, 1, format="OGG", subtype="VORBIS", compression_level=VORBIS_QUALITY) as out:
        for block in np.array_split(samples, max(1, len(samples) // 8192)):
            out.write(block)
    return hashlib.sha256(dst.read_bytes()).hexdigest()


def sources(title: str, what: str, rows: list[str]) -> str:
    return (
        f"# {title}\n\n"
        "Guitar stems from the Sectoid song pack for Frets on Fire (Debian package\n"
        "`fretsonfire-songs-sectoid`), by Carlos Viola Iborra, under the MIT-style licence in\n"
        f"`COPYRIGHT` (in demo_corpus/). Each file: the stem downmixed to mono, {what},\n"
        f"peak-normalised to {PEAK_DBFS:g} dBFS, Ogg Vorbis, 44.1 kHz. Made by `tools/make_demo_corpus.py`.\n\n"
        "| file | source | span | sha256 (first 16) |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="folder holding <song>/guitar.ogg and COPYRIGHT")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "src/antiphon/demo_corpus")
    args = parser.parse_args()
    excerpts = args.out / "excerpts"
    excerpts.mkdir(parents=True, exist_ok=True)
    whole_rows, excerpt_rows = [], []
    for song, start_s in EXCERPTS.items():
        src = args.source / song / "guitar.ogg"
        audio, sr = sf.read(src, always_2d=True)
        mono = audio.mean(axis=1)
        name = f"sectoid_{song}_guitar.ogg"
        digest = write_ogg(mono, sr, args.out / name)
        whole_rows.append(f"| `{name}` | `{song}/guitar.ogg` | whole ({len(mono) / sr:.1f} s) | {digest[:16]} |")
        digest = write_ogg(mono[int(start_s * sr) : int((start_s + DURATION_S) * sr)], sr, excerpts / name)
        excerpt_rows.append(f"| `{name}` | `{song}/guitar.ogg` | {start_s:g}–{start_s + DURATION_S:g} s | {digest[:16]} |")
    shutil.copyfile(args.source / "COPYRIGHT", args.out / "COPYRIGHT")
    (args.out / "SOURCES.md").write_text(sources("Demo corpus: the four guitar stems, whole", "whole", whole_rows))
    (excerpts / "SOURCES.md").write_text(sources("Demo excerpts: 60 s of each stem (tests, benchmarks)", "the excerpt below", excerpt_rows))


if __name__ == "__main__":
    main()
