"""The ``antiphon`` command: thin subcommands that load config, call one library function, print a summary.

Heavy libraries (numpy, scipy, matplotlib, and later torch) are imported inside the commands
that need them, so ``antiphon --help`` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from antiphon import __version__
from antiphon.errors import AntiphonError

if TYPE_CHECKING:
    from rich.progress import Progress

    from antiphon.config import Config

DESCRIPTION = """\
antiphon: an automated real-time music improviser.

A performer plays; antiphon listens to frames of audio features (chroma, spectral centroid,
spread, skewness, kurtosis, slope, decrease, rolloff, variation) and, when the performer pauses,
answers with a continuation of its own. This release turns audio into the instrument's
analysis JSON; training, real-time serving and the optimizer study come next.
"""

EPILOG = """\
typical session:
  antiphon demo                               analyze the bundled guitar recordings
  antiphon analyze take1.wav take2.flac -o analysis/ --plot
  antiphon analyze solo.ogg -o out/ --set analysis.convention=librosa
  antiphon inspect analysis/take1.json        check a file (yours or the instrument's)
  antiphon config --set analysis.hop_length=256   show the settings that would be used

settings: every command takes --config FILE.toml and any number of --set section.key=value;
`antiphon config` prints them all with their meaning. Errors print one line and exit with 2.
"""


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings")
    group.add_argument("--config", type=Path, metavar="FILE", help="TOML file of settings (see `antiphon config`)")
    group.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set analysis.hop_length=256 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antiphon",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"antiphon {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    analyze = commands.add_parser(
        "analyze",
        help="turn recordings into the instrument's analysis JSON",
        description=(
            "Analyze audio files (WAV, FLAC, Ogg Vorbis; mixed down to mono, at their own sample rate)\n"
            "into one analysis JSON per file, in the instrument's layout: Analysis.Time (ms) and the\n"
            "Spectral (20 values: 8 shape descriptors + 12 chroma), Signal and Yin categories.\n"
            "Descriptors follow Peeters 2004 / IrcamDescriptor (window 2048, hop 512, Blackman);\n"
            "--set analysis.convention=librosa reproduces librosa's choices instead."
        ),
        epilog=(
            "examples:\n"
            "  antiphon analyze take.wav -o analysis/\n"
            "  antiphon analyze takes/*.flac -o analysis/ --plot\n"
            "  antiphon analyze take.wav -o out/ --set analysis.hop_length=256\n\n"
            "Every input is checked before any work starts; each output file is written whole or not\n"
            "at all. See docs/analysis-json.md for the file format and docs/features.md for the\n"
            "descriptor definitions."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument("audio", nargs="+", type=Path, metavar="AUDIO", help="audio files (.wav, .flac, .ogg)")
    analyze.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="folder for <name>.json")
    analyze.add_argument("--plot", action="store_true", help="also write <name>.png: the features over time")
    _add_config_options(analyze)

    demo = commands.add_parser(
        "demo",
        help="run the pipeline on the bundled guitar recordings",
        description=(
            "Analyze the bundled demo corpus (four 60 s guitar stems from the Sectoid song pack,\n"
            "MIT-style licence) into OUTDIR/analysis: one JSON and one PNG per recording."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("-o", "--out", type=Path, default=Path("demo-output"), metavar="OUTDIR", help="default: demo-output")
    _add_config_options(demo)

    inspect = commands.add_parser(
        "inspect",
        help="check analysis JSON files and summarise them",
        description=(
            "Read analysis JSON files (the instrument's, or antiphon's), check them, and print for each\n"
            "the number of frames, the duration, the frame interval and every feature's range.\n"
            "A broken file gives one line naming the file and the JSON path, and exit status 2."
        ),
        epilog="example:\n  antiphon inspect session.json --plot figures/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("files", nargs="+", type=Path, metavar="ANALYSIS.json", help="analysis JSON files")
    inspect.add_argument("--plot", type=Path, metavar="OUTDIR", help="also write <name>.png, the features over time")

    config = commands.add_parser(
        "config",
        help="print the effective settings as TOML, with what each one means",
        description="Print the settings a command would use (defaults, then --config, then --set) as TOML.",
    )
    _add_config_options(config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input or settings, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except AntiphonError as exc:
        print(f"antiphon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("antiphon: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _load_config(args: argparse.Namespace) -> Config:
    from antiphon.config import load_config

    return load_config(args.config, args.overrides)


def _progress(total: int, label: str) -> tuple[Progress, Callable[[Path], None]]:
    """A progress bar on stderr and the callback that advances it by one file."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task(label, total=total)
    return progress, lambda _path: progress.advance(task)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from antiphon.analysis import analyze_files, check_inputs

    config = _load_config(args)
    check_inputs(args.audio, args.out)  # fail before the progress bar draws anything
    progress, advance = _progress(len(args.audio), "analyzing")
    with progress:
        results = analyze_files(args.audio, args.out, config.analysis, plot=args.plot, on_file=advance)
    for r in results:
        extra = f" + {r.png_path.name}" if r.png_path else ""
        print(f"{r.audio_path} ({r.duration_s:.1f} s) -> {r.json_path}{extra} ({r.n_frames} frames)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from antiphon.demo import demo_corpus, run_demo

    config = _load_config(args)
    progress, advance = _progress(len(demo_corpus()), "analyzing the demo corpus")
    with progress:
        results = run_demo(args.out, config, on_file=advance)
    print(f"antiphon demo: analyzed {len(results)} recordings ({sum(r.duration_s for r in results):.0f} s of audio)")
    for r in results:
        print(f"  {r.json_path}  {r.png_path}  ({r.n_frames} frames)")
    print(f"everything is in {args.out.resolve()}")
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from antiphon.data.analysis_json import read_analysis

    documents = [read_analysis(path) for path in args.files]  # all checked before anything is printed
    for path, doc in zip(args.files, documents):
        times = doc.times_ms
        interval = f", median frame interval {np.median(np.diff(times)):.2f} ms" if times.size > 1 else ""
        span = f"{(times[-1] - times[0]) / 1000:.2f} s" if times.size else "empty"
        print(f"{path}: {doc.n_frames} frames, {span}{interval}")
        for name, values in doc.features.items():
            low, mid, high = (np.min(values), np.median(values), np.max(values)) if values.size else (0, 0, 0)
            print(f"  {doc.categories.get(name, ''):10s} {name:24s} min {low:<12.5g} median {mid:<12.5g} max {high:.5g}")
        if args.plot:
            from antiphon.render.plots import plot_analysis, save_figure

            png = args.plot / f"{path.stem}.png"
            save_figure(plot_analysis(doc, title=path.name), png)
            print(f"  -> {png}")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from antiphon.config import to_toml

    print(to_toml(_load_config(args)), end="")
    return 0


_COMMANDS = {"analyze": _cmd_analyze, "demo": _cmd_demo, "inspect": _cmd_inspect, "config": _cmd_config}
