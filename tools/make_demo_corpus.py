"""Build the bundled demo corpus from the Sectoid Frets-on-Fire guitar stems (maintainers only).

Run once by hand; `antiphon demo` and the tests use only the files this writes into
src/antiphon/demo_corpus/. Each excerpt is downmixed to mono, trimmed to a span where the
guitar plays, peak-normalised to -1 dBFS and stored as Ogg Vorbis.

    python tools/make_demo_corpus.py ../shared/data/audio/sectoid

`--whole` writes the four stems whole (pauses and all, 13.5 minutes) into data/sectoid/ instead:
the recordings `benchmarks/held_out_song.py` trains and tests on (not part of the package).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="folder holding <song>/guitar.ogg and COPYRIGHT")
    parser.add_argument("--out", type=Path, help="default: src/antiphon/demo_corpus, or data/sectoid with --whole")
    parser.add_argument("--whole", action="store_true", help="the whole stems, not the 60 s excerpts")
    args = parser.parse_args()
    root = Path(__file__).parents[1]
    args.out = args.out or (root / "data/sectoid" if args.whole else root / "src/antiphon/demo_corpus")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for song, start_s in EXCERPTS.items():
        src = args.source / song / "guitar.ogg"
        audio, sr = sf.read(src, always_2d=True)
        mono = audio.mean(axis=1)
        if args.whole:
            start_s, excerpt = 0.0, mono
        else:
            excerpt = mono[int(start_s * sr) : int((start_s + DURATION_S) * sr)]
        excerpt *= 10 ** (PEAK_DBFS / 20) / np.max(np.abs(excerpt))
        dst = args.out / f"sectoid_{song}_guitar.ogg"
        # libsndfile's Vorbis encoder crashes on one very large write; feed it in blocks.
        with sf.SoundFile(dst, "w", sr, 1, format="OGG", subtype="VORBIS", compression_level=VORBIS_QUALITY) as out:
            for block in np.array_split(excerpt, max(1, len(excerpt) // 8192)):
                out.write(block)
        digest = hashlib.sha256(dst.read_bytes()).hexdigest()
        span = "whole" if args.whole else f"{start_s:g}–{start_s + DURATION_S:g} s"
        rows.append(f"| `{dst.name}` | `{song}/guitar.ogg` | {span} | {digest[:16]} |")
    shutil.copyfile(args.source / "COPYRIGHT", args.out / "COPYRIGHT")
    (args.out / "SOURCES.md").write_text(
        ("# Whole guitar stems (benchmarks/held_out_song.py)\n\n" if args.whole else "# Demo corpus\n\n")
        + "Guitar stems from the Sectoid song pack for Frets on Fire (Debian package\n"
        "`fretsonfire-songs-sectoid`), by Carlos Viola Iborra, under the MIT-style licence in\n"
        "`COPYRIGHT` beside this file. Each file: the stem downmixed to mono, the excerpt below,\n"
        f"peak-normalised to {PEAK_DBFS:g} dBFS, Ogg Vorbis, 44.1 kHz. Made by `tools/make_demo_corpus.py{' --whole' if args.whole else ''}`.\n\n"
        "| file | source | excerpt | sha256 (first 16) |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


if __name__ == "__main__":
    main()
