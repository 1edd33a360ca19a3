"""Build the bundled demo corpus from the Sectoid Frets-on-Fire guitar stems (maintainers only).

Run once by hand; `antiphon demo`, the tests and the benchmarks use only the files this writes
into src/antiphon/demo_corpus/:

- the four stems whole (13.5 minutes, pauses and all): the demo's corpus (`demo_corpus()`) and
  the songs `benchmarks/held_out_song.py` holds out;
- `excerpts/`: 60 s of each where the guitar plays without pauses (`demo_excerpts()`): short real
  music for the tests and the speed benchmarks.

Each is downmixed to mono, peak-normalised to -1 dBFS and stored as Ogg Vorbis.

    python tools/make_demo_corpus.py ../shared/data/audio/sectoid

With ``--mixes DIR`` it also writes each song's full mix (its guitar stem and backing track,
`song.ogg`, each downmixed to mono and summed, peak-normalised to -1 dBFS) to DIR as 16-bit WAV,
`sectoid_<song>_mix.wav`: the music docs/model.md round 10 trained on beside the stems
(`corpus.train_files = ["_mix"]`). They are not shipped.
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


def write_mix(song_dir: Path, dst: Path) -> float:
    """The full mix of one song folder (guitar.ogg + song.ogg, each downmixed to mono, summed, the shorter padded
    with silence, peak-normalised) as 16-bit WAV at ``dst``; returns its length in seconds."""
    guitar, sr = sf.read(song_dir / "guitar.ogg", always_2d=True)
    backing, backing_sr = sf.read(song_dir / "song.ogg", always_2d=True)
    if backing_sr != sr:
        raise SystemExit(f"{song_dir}: guitar.ogg is at {sr} Hz and song.ogg at {backing_sr} Hz")
    mix = np.zeros(max(len(guitar), len(backing)))
    mix[: len(guitar)] += guitar.mean(axis=1)
    mix[: len(backing)] += backing.mean(axis=1)
    mix *= 10 ** (PEAK_DBFS / 20) / np.max(np.abs(mix))
    sf.write(dst, mix.astype(np.float32), sr, subtype="PCM_16")
    return len(mix) / sr


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
    parser.add_argument("--mixes", type=Path, help="also write each song's full mix here (16-bit WAV; not shipped)")
    args = parser.parse_args()
    if args.mixes is not None:
        args.mixes.mkdir(parents=True, exist_ok=True)
        for song in EXCERPTS:
            seconds = write_mix(args.source / song, args.mixes / f"sectoid_{song}_mix.wav")
            print(f"{args.mixes / f'sectoid_{song}_mix.wav'}: {seconds:.1f} s")
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
