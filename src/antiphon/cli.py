"""The ``antiphon`` command: thin subcommands that load config, call one library function, print a summary.

Heavy libraries (numpy, scipy, matplotlib, and later torch) are imported inside the commands
that need them, so ``antiphon --help`` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antiphon import __version__
from antiphon.errors import AntiphonError
from antiphon.realtime.modes import MODES

if TYPE_CHECKING:
    from rich.progress import Progress

    from antiphon.config import Config
    from antiphon.evaluation.evaluate import EvaluationReport

DESCRIPTION = """\
antiphon: an automated real-time music improviser.

A performer plays; antiphon listens to frames of audio features (chroma, spectral centroid,
spread, skewness, kurtosis, slope, decrease, rolloff, variation) and, when the performer pauses,
answers with a continuation of its own. This release analyses audio into the instrument's
analysis JSON, builds corpora, trains the MDRNN with the paper's optimizers, improvises offline
and in real time over OSC, measures how much its answers resemble what followed, renders
frames to audio, and runs the paper's optimizer study (Table I and beyond) on Dask.
"""

EPILOG = """\
typical session:
  antiphon demo                               the whole path on the bundled guitar recordings
  antiphon analyze take1.wav take2.flac -o analysis/ --plot
  antiphon dataset analysis/ -o corpus/       rows of [dt, features], split, scaler
  antiphon train corpus/ -o model/ --optimizer sgd --lr 0.0005 --set training.momentum=0.8
  antiphon generate model/ --prompt analysis/take1.json -o answer.json --plot answer.png --audio answer.wav
  antiphon evaluate model/ corpus/ -o report/  the model against six baselines, with intervals and verdicts
  antiphon serve model/                        improvise with a performer over OSC (127.0.0.1:9000)
  antiphon live model/ --input take.wav --record answer.wav   from sound to sound (a sound card or a file)
  antiphon study run --corpus corpus/ -o table1/   the paper's optimizer comparison, on Dask
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


@dataclass(frozen=True)
class Argument:
    """One argparse argument of a command: its flags (or name) and keyword arguments."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Argument:
    return Argument(flags, options)


@dataclass(frozen=True)
class SettingFlag:
    """A shorthand flag for one setting (``section.key``): its type, choices, default and help come
    from the setting's own declaration (:func:`antiphon.config.setting_info`); ``note`` adds to the help."""

    flag: str
    key: str
    note: str = ""

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Command:
    """One subcommand: what ``--help`` says, the function that runs it, its arguments, and whether it
    takes ``--config`` and ``--set`` (``settings``)."""

    name: str
    help: str
    description: str
    run: Callable[[argparse.Namespace], int]
    arguments: tuple[Argument | SettingFlag, ...] = ()
    epilog: str | None = None
    settings: bool = True


def _add_setting_flag(parser: argparse.ArgumentParser, shorthand: SettingFlag) -> None:
    from antiphon.config import setting_info

    info = setting_info(shorthand.key)
    default = "unset" if info.default is None else f"{info.default:g}" if isinstance(info.default, float) else str(info.default) or "''"
    help_text = f"{info.key}: {info.doc} (default {default}{'; ' + shorthand.note if shorthand.note else ''})"
    parser.add_argument(shorthand.flag, dest=shorthand.dest, type=info.type, choices=info.choices, help=help_text.replace("%", "%%"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antiphon",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"antiphon {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.description,
            epilog=command.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for argument in command.arguments:
            if isinstance(argument, SettingFlag):
                _add_setting_flag(sub, argument)
            else:
                sub.add_argument(*argument.flags, **argument.options)
        if command.settings:
            _add_config_options(sub)

    from antiphon import cli_study

    cli_study.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input or settings, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
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
    """Defaults, then --config, then --set, then the shorthand flags (the last word wins)."""
    from antiphon.config import load_config

    overrides = list(args.overrides)
    command = next((c for c in COMMANDS if c.name == args.command), None)
    for shorthand in command.arguments if command else ():
        value = getattr(args, shorthand.dest, None) if isinstance(shorthand, SettingFlag) else None
        if value is not None:
            overrides.append(f"{shorthand.key}={value if not isinstance(value, str) else repr(value)}")
    if getattr(args, "send", None) is not None:
        host, port = _host_port(args.send)
        overrides += [f"realtime.send_host={host!r}", f"realtime.send_port={port}"]
    return load_config(args.config, overrides)


def _progress(total: int, label: str) -> tuple[Progress, Callable[[Path], None]]:
    """A progress bar on stderr and the callback that advances it by one file."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # gone when done: the summary follows, and an error stays the only line
        disable=not console.is_terminal,
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


def _cmd_dataset(args: argparse.Namespace) -> int:
    from antiphon.dataset import expand_inputs, make_dataset

    config = _load_config(args)
    files = expand_inputs(args.inputs)
    progress, advance = _progress(len(files), "reading")
    with progress:
        corpus = make_dataset(files, args.out, config, on_file=advance)
    _print_corpus_summary(corpus.summary(), args.out)
    return 0


def _print_corpus_summary(summary: dict, folder: Path) -> None:
    rows = summary["rows_per_split"]
    print(
        f"corpus {folder}: {summary['n_files']} files, {summary['n_rows']} rows, {summary['duration_s']:.1f} s "
        f"(train {rows['train']}, validation {rows['validation']}, test {rows['test']} rows)"
    )
    dt = summary["dt_s"]
    role = (
        "varies: a model dimension"
        if summary["dt_modelled"]
        else f"constant: not a model dimension (answers come every {1000 * dt['median']:.2f} ms)"
    )
    print(f"  {'dt_s':24s} min {dt['min']:<12.5g} median {dt['median']:<12.5g} max {dt['max']:.5g}   {role}")
    quiet = summary.get("quiet_rows", {})
    checked = {name: n for name, n in quiet.items() if n is not None}
    if checked:
        marked = ", ".join(f"{name} {n}" for name, n in checked.items() if n)
        print(f"  quiet frames (near the noise floor) marked silent: {sum(checked.values())} rows" + (f" ({marked})" if marked else ""))
    unchecked = [name for name, n in quiet.items() if n is None]
    if unchecked:
        print(f"  quiet frames not checked (no TotalEnergy in the analysis): {', '.join(unchecked)}")
    for rule in (*summary.get("identities", ()), *summary.get("bounds", ())):
        print(f"  true of every sounding training frame, so every answer frame obeys it: {rule}")
    for name, r in summary["features"].items():
        low, high = r.get("train_sounding_min", r["train_min"]), r.get("train_sounding_max", r["train_max"])
        sounding = f"; sounding {low:.5g} .. {high:.5g}" if (low, high) != (r["train_min"], r["train_max"]) else ""
        print(
            f"  {name:24s} min {r['min']:<12.5g} max {r['max']:<12.5g} (training range {r['train_min']:.5g} .. {r['train_max']:.5g}"
            f"{sounding})"
        )


class _TrainingBar:
    """A rich progress bar for training: one task per epoch, live losses in its description."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True)
        )
        self.epochs, self.task, self.last = 0, None, ""

    def start(self, epochs: int, batches_per_epoch: int, first_epoch: int) -> None:
        self.epochs, self.batches, self.current = epochs, batches_per_epoch, first_epoch + 1
        self.progress.start()

    def batch(self, running_loss: float) -> None:
        if self.task is None:
            self.task = self.progress.add_task("", total=self.batches)
        self.progress.update(self.task, advance=1, description=f"epoch {self.current}/{self.epochs} train {running_loss:8.3f} {self.last}")

    def epoch(self, record: dict) -> None:
        self.last = f"| last: train {record['train_loss']:.3f} val {record['val_loss']:.3f}"
        # the answers' realism and acf (training.select_by); losses to 2 decimals (history.csv keeps them all) so that the
        # line fits 80 columns
        answers = f"  realism {record['answer_realism']:.3f}  acf {record['answer_acf']:.3f}" if "answer_acf" in record else ""
        self.progress.console.print(
            f"epoch {record['epoch']:3d}  train {record['train_loss']:7.2f}  val {record['val_loss']:7.2f}  "
            f"lr {record['lr']:.3g}  {record['seconds']:.0f} s{answers}"
        )
        self.current = record["epoch"] + 1
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None

    def stop(self) -> None:
        self.progress.stop()


def _cmd_train(args: argparse.Namespace) -> int:
    from antiphon.data.corpus import load_corpus
    from antiphon.training.loop import train

    config = _load_config(args)
    corpus = load_corpus(args.corpus)
    bar = _TrainingBar()
    try:
        result = train(corpus, config, args.out, resume=args.resume, progress=bar)
    finally:
        bar.stop()
    _print_train_result(result)
    return 0


def _print_train_result(result) -> None:
    test = f", test loss {result.test_loss:.4f}" if result.test_loss is not None else ""
    print(
        f"trained {result.epochs_run} epochs on {result.arithmetic} (stopped: {result.stopped}); {result.kept()}{test}; "
        f"{result.n_parameters} parameters"
    )
    print(f"model: {result.folder}")


def _cmd_generate(args: argparse.Namespace) -> int:
    from antiphon.generate import generate

    config = _load_config(args)
    continuation = generate(args.model, args.prompt, args.out, config.generate, plot_path=args.plot)
    print(
        f"{args.prompt}: {continuation.prompt_ms.size} prompt frames -> {continuation.times_ms.size} predicted frames "
        f"({continuation.times_ms[-1] / 1000:.2f} s) in {args.out}"
        + (f" and {args.plot}" if args.plot else "")
        + (
            f"; the model heard the prompt {continuation.key_shift} semitone(s) up and answered in its key"
            if continuation.key_shift
            else ""
        )
    )
    if args.audio:
        from antiphon.generate import render_continuation

        prompt_wav = render_continuation(continuation, args.audio)
        print(f"audio: {args.audio} (the prediction) and {prompt_wav} (the prompt)")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from antiphon.render.audio import render_file

    seconds = render_file(args.file, args.out, args.sample_rate)
    print(f"{args.file} -> {args.out} ({seconds:.2f} s at {args.sample_rate} Hz)")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from antiphon.data.corpus import load_corpus
    from antiphon.evaluation.evaluate import evaluate
    from antiphon.model.directory import load_model

    config = _load_config(args)
    corpus = load_corpus(args.corpus)
    report = evaluate(load_model(args.model), corpus, config.evaluate, args.out)
    print_evaluation(report)
    if args.out:
        print(f"report: {args.out / 'report.json'}, figures: {args.out / 'answers.png'}, {args.out / 'measures.png'}")
    return 0


def print_evaluation(report: EvaluationReport) -> None:
    """The NLL beside the linear baselines, every system on every measure with its interval, then the verdicts."""
    tf = report.teacher_forced
    print(f"teacher-forced on the test split ({tf['steps']} steps; {tf['units']}):")
    print("  " + "   ".join(f"{name} {entry['nll']:.2f}" for name, entry in tf["systems"].items()))

    def cell(entry: dict | None, key: str = "mean") -> str:
        if not entry or entry.get(key) is None:
            return f"{'-':>21s}"
        return f"{entry[key]:.3f} ({entry['low']:.2f}..{entry['high']:.2f})".rjust(21)

    runs = report.free_running
    leads = list(next(iter(runs.values()))["energy_score"])
    header = [f"ES@{h}s" for h in leads] + ["realism MMD2", "steps", "autocorr", "conditioning"]
    print(f"free-running, {report.n_prompts} prompts (lower is better; conditioning: higher), 95 % intervals:")
    print(f"  {'':18s}" + "".join(f"{h:>22s}" for h in header) + "   copied")
    for system, e in runs.items():
        row = [cell(e["energy_score"][h]) for h in leads]
        row += [cell(e.get("realism_mmd2")), cell(e.get("steps_mmd2")), cell(e.get("acf_mmd2")), cell(e["conditioning"], "skill")]
        copied = e["novelty"]["copied_fraction"]
        print(f"  {system:18s}" + "".join(f" {c}" for c in row) + f"   {'-' if copied is None else f'{copied:.0%}'}")
    for sentence in report.sentences:
        print(f"  {sentence}")


def _host_port(text: str) -> tuple[str, int]:
    from antiphon.errors import ConfigError

    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:9001")
    return host, int(port)


def _cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from antiphon.model.engine import Engine
    from antiphon.realtime.session import Session
    from antiphon.realtime.session_log import default_log_path

    config = _load_config(args)
    rt = config.realtime
    engine = Engine.from_model_dir(args.model)
    log_path = args.log or default_log_path(rt.log_dir)
    session = Session(engine, rt, log_path)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    session.start()
    print(f"antiphon serve: model {args.model} ({len(engine.feature_names)} features), mode {session.mode.name}, silence {rt.silence_s} s")
    print(
        f"listening on {rt.host}:{session.port} (receive buffer {session.server.effective_receive_buffer} bytes); answers to {rt.send_host}:{rt.send_port}"
    )
    print(f"session log: {log_path}")
    print("features: " + " ".join(engine.feature_names))
    print("\n".join(session.protocol()))
    print("ready; stop with Ctrl-C", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        session.stop()
    status = session.status()
    print(
        f"stopped: {status['frames_in']} frames in, {status['frames_out']} out, {status['answers']} answers, "
        f"{status['rejected']} rejected, {status['late_frames']} late; log {log_path}"
    )
    return 0


def _cmd_live(args: argparse.Namespace) -> int:
    import signal
    import threading
    import time

    from antiphon.realtime.audio_io import device_list
    from antiphon.realtime.live import LiveSession
    from antiphon.realtime.session_log import default_log_path

    if args.list_devices:
        print(device_list())
        return 0
    if args.model is None:
        from antiphon.errors import ConfigError

        raise ConfigError("antiphon live: give MODEL_DIR (or --list-devices)")
    config = _load_config(args)
    log_path = args.log or default_log_path(config.realtime.log_dir)
    live = LiveSession(args.model, config, log_path, send=args.send is not None, record_path=args.record)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    rt = config.realtime
    names = live.engine.feature_names
    print(
        f"antiphon live: model {args.model} ({len(names)} features at {live.sample_rate_hz} Hz), mode {rt.mode}, silence {rt.silence_s} s"
    )
    print(f"in:  {live.input_note or config.live.input or '(default input device)'}; gate {config.live.gate_dbfs:g} dBFS")
    outputs = [f"device {config.live.output}"] if config.live.output else []
    outputs += [f"OSC to {rt.send_host}:{rt.send_port}"] if args.send is not None else []
    outputs += [f"{args.record} (input left, answer right)"] if args.record else []
    print(f"out: {', '.join(outputs) or 'nowhere (give --output, --send or --record)'}")
    live.start()
    print(f"controls over OSC on {rt.host}:{live.session.port} ({rt.control_prefix}/mode ...); session log: {log_path}")
    print("ready; stop with Ctrl-C" if not live.input_note else "playing the file at its real rate", flush=True)
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while not live.audio.finished.is_set() and not stop.is_set():
            live.wait(1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic())), stop)
            if deadline is not None and time.monotonic() >= deadline:
                break
            if sys.stdout.isatty():  # a performer's running view: one line, rewritten
                s = live.status()
                print(
                    f"\r{s['frames_fed']} frames in, {s['answers']} answers, {s['frames_out']} answer frames, "
                    f"underruns {s['output_underflows']}, overruns {s['input_overflows']}   ",
                    end="",
                    flush=True,
                )
    finally:
        if sys.stdout.isatty():
            print()
        live.stop()
    status = live.status()
    delays = status["first_sample_delay_ms"]
    print(
        f"stopped: {status['frames_fed']} frames fed ({status['frames_gated']} below the gate), {status['answers']} answers, "
        f"{status['frames_out']} answer frames; underruns {status['output_underflows']}, overruns {status['input_overflows']}, "
        f"late blocks {status['late_blocks']}; input to engine p99 {status['feed_latency_ms_p99']:.2f} ms; "
        f"threshold to first answer sample {'max ' + format(max(delays), '.1f') + ' ms' if delays else '-'}; CPU {status['cpu_percent']} %"
    )
    print(f"log {log_path}" + (f"; recording {args.record}" if args.record else ""))
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    from antiphon.data.analysis_json import read_analysis
    from antiphon.realtime.player import play

    config = _load_config(args)
    if args.model is not None:
        from antiphon.model.directory import read_model_info

        features = read_model_info(args.model).feature_names
    else:
        features = config.corpus.features
    document = read_analysis(args.file)
    destination = _host_port(args.to)
    address = args.address or config.realtime.frame_address
    sent = play(document, features, destination, address, speed=args.speed, until_ms=args.until_ms)
    print(f"{args.file}: sent {sent} frames of {len(features)} values to {args.to} at {address}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from antiphon.config import load_config
    from antiphon.demo import DEMO_OVERRIDES, demo_corpus, run_demo

    config = load_config(args.config, [*DEMO_OVERRIDES, *args.overrides])
    out = args.out
    recordings = args.recordings or demo_corpus()
    which = "the bundled guitar recordings" if args.recordings is None else f"{len(recordings)} recordings"
    print(f"antiphon demo: {which} through the whole path, into {out}/")
    progress, advance = _progress(len(recordings), "analyzing the recordings")
    from antiphon.cli_study import StudyBar, print_table

    bar, study_bar = _TrainingBar(), StudyBar()
    try:
        with progress:
            result = run_demo(
                out,
                config,
                on_file=advance,
                training_progress=bar,
                study_progress=study_bar,
                study_spec=args.study,
                recordings=args.recordings,
            )
    finally:
        bar.stop()
        study_bar.stop()
    seconds = sum(a.duration_s for a in result.analyzed)
    print(f"1. analysis:   {out / 'analysis'}/  ({len(result.analyzed)} recordings, {seconds:.0f} s of audio: a JSON and a PNG each)")
    rows = result.corpus.summary()["rows_per_split"]
    print(f"2. corpus:     {result.corpus_dir}/  (train {rows['train']}, validation {rows['validation']}, test {rows['test']} rows)")
    t = result.train
    print(
        f"3. model:      {t.folder}/  ({t.epochs_run} epochs, {t.kept()}, test loss {t.test_loss:.3f} nats per step; "
        "curves in training.png)"
    )
    print(f"4. prompt:     {result.prompt_path}  (the held-out test block of one recording)")
    print(f"5. answer:     {result.continuation_path}  ({result.n_predicted} frames) and {result.figure_path}")
    print(f"   hear it:    {result.answer_wav} (the answer) and {result.prompt_wav} (the prompt), rendered from the frames")
    print(f"6. evaluation: {result.evaluation_dir}/  (report.json, answers.png, measures.png)")
    print_evaluation(result.evaluation)
    print(
        f"7. live:       {result.live_path} and {result.live_figure_path}  (served over OSC: {result.live_frames} answer frames, "
        f"the first {result.live_first_answer_ms:.0f} ms after the prompt's last frame; session log {result.session_log})"
    )
    status = result.live_audio_status
    delays = status["first_sample_delay_ms"]
    print(
        f"   and sound:  {result.live_audio}  (antiphon live heard the prompt's audio at its real rate: the input left, its answer right; "
        f"{status['answers']} answer(s), first sample {delays[0]:.1f} ms after the silence threshold, {status['late_blocks']} late blocks)"
        if delays
        else f"   and sound:  {result.live_audio}  (antiphon live gave no answer: {status['frames_fed']} frames fed)"
    )
    print(
        f"8. study:      {result.study_dir}/report.html  (a small optimizer study on Dask: the `{args.study}` spec; figures and report.json beside it)"
    )
    print_table(result.study_report)
    print(f"everything is in {out.resolve()}")
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


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "study":
        return _cmd_study(args)
    return next(c for c in COMMANDS if c.name == args.command).run(args)


def _cmd_study(args: argparse.Namespace) -> int:
    from antiphon import cli_study

    return cli_study.run(args)


#: every subcommand but ``study`` (:mod:`antiphon.cli_study` adds it), in the order ``--help`` lists them
COMMANDS: tuple[Command, ...] = (
    Command(
        "analyze",
        help="turn recordings into the instrument's analysis JSON",
        description="Analyze audio files (WAV, FLAC, Ogg Vorbis; mixed down to mono, at their own sample rate)\n"
        "into one analysis JSON per file, in the instrument's layout: Analysis.Time (ms) and the\n"
        "Spectral (20 values: 8 shape descriptors + 12 chroma), Signal and Yin categories.\n"
        "Descriptors follow Peeters 2004 / IrcamDescriptor (window 2048, hop 512, Blackman);\n"
        "--set analysis.convention=librosa reproduces librosa's choices instead.",
        epilog="examples:\n"
        "  antiphon analyze take.wav -o analysis/\n"
        "  antiphon analyze takes/*.flac -o analysis/ --plot\n"
        "  antiphon analyze take.wav -o out/ --set analysis.hop_length=256\n\n"
        "Every input is checked before any work starts; each output file is written whole or not\n"
        "at all. See docs/analysis-json.md for the file format and docs/features.md for the\n"
        "descriptor definitions.",
        run=_cmd_analyze,
        arguments=(
            arg("audio", nargs="+", type=Path, metavar="AUDIO", help="audio files (.wav, .flac, .ogg)"),
            arg("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="folder for <name>.json"),
            arg("--plot", action="store_true", help="also write <name>.png: the features over time"),
        ),
    ),
    Command(
        "demo",
        help="run the pipeline on the bundled guitar recordings",
        description="The whole path on the bundled demo corpus (four guitar stems of the Sectoid song pack,\n"
        "whole: 13.5 minutes; MIT-style licence) or on --recordings: analyze them (OUTDIR/analysis: a\n"
        "JSON and a PNG each), build a corpus (OUTDIR/corpus), train a model (OUTDIR/model), and\n"
        "continue 917 ms of a held-out passage for 5 s (OUTDIR/generated: JSON, the paper's figure,\n"
        "and WAVs of the prompt and the answer); evaluate the model against six baselines on the test\n"
        "split (OUTDIR/evaluation: every measure with its interval, and which baselines the model\n"
        "beats, ties or loses to); then serve the model over OSC, play the same prompt into it and\n"
        "record its answer (OUTDIR/live, session log in OUTDIR/sessions), and play the passage's audio\n"
        "into `antiphon live`; last, run a small optimizer study on a local Dask cluster (three\n"
        "optimizers x two seeds, 4 epochs: OUTDIR/study/report.html). The demo trains 6 epochs unless\n"
        "--set training.epochs=N says otherwise (the study keeps its own spec); about nine minutes on\n"
        "2 cores with the bundled recordings.",
        run=_cmd_demo,
        arguments=(
            arg("-o", "--out", type=Path, default=Path("demo-output"), metavar="OUTDIR", help="default: demo-output"),
            arg(
                "--study",
                default="demo",
                metavar="SPEC",
                help="the study it runs last: a bundled spec's name or a spec file (default demo; `antiphon study specs` lists them)",
            ),
            arg(
                "--recordings",
                nargs="+",
                type=Path,
                metavar="AUDIO",
                help="audio files to run it on instead of the bundled stems (.wav, .flac, .ogg; the prompt comes from "
                "the one whose name holds 'feelings', else the first; a few minutes of music at least, for the splits)",
            ),
        ),
    ),
    Command(
        "dataset",
        help="build a training corpus from analysis JSON, session logs or audio",
        description="Turn analysis JSON files, session logs of `antiphon serve` (.jsonl: the performer's frames),\n"
        "or audio (analyzed on the way; folders are searched for all three)\n"
        "into a corpus: per file, rows of [dt_s, features...] (dt = seconds since the previous\n"
        "frame), the split into training, validation and test (contiguous blocks of each file,\n"
        "or whole files; never shuffled windows), and a min-max scaler fitted on the training\n"
        "rows only. Features default to the 20 Spectral values (corpus.features). dt is a model\n"
        "dimension only where the time steps vary (session logs; corpus.timing): analysis frames at\n"
        "a fixed hop are modelled without it and answered at the hop. Each feature's resolution\n"
        "(corpus.resolution) is what training dequantises within. The rules every sounding training\n"
        "frame obeys are found, printed, and obeyed by every answer frame: an exact identity (Peeters'\n"
        "slope is affine in the centroid), Pearson's bound (kurtosis >= 1 + skewness^2), the range of the\n"
        "frames that sound. corpus.log_frequency_knee_hz and corpus.log_chroma_knee put the features in\n"
        "Hz and the chroma on log scales (off: both measured worse) (docs/model.md).",
        epilog="examples:\n"
        "  antiphon dataset analysis/ -o corpus/\n"
        "  antiphon dataset takes/*.wav -o corpus/ --set corpus.split=file\n"
        "  antiphon dataset analysis/ -o corpus/ --set corpus.train_fraction=0.9 --set corpus.validation_fraction=0.1\n\n"
        "Times must increase within a file: a repeated or decreasing time is an error naming the\n"
        "file and the index. The corpus folder holds corpus.npz and corpus.json.",
        run=_cmd_dataset,
        arguments=(
            arg("inputs", nargs="+", type=Path, metavar="INPUT", help="analysis .json, session .jsonl, audio files or folders"),
            arg("-o", "--out", type=Path, required=True, metavar="CORPUS", help="corpus folder to write"),
        ),
    ),
    Command(
        "train",
        help="train the MDRNN on a corpus",
        description="Train the MDRNN (LSTM layers + mixture density head) on a corpus, with early stopping.\n"
        "Every epoch's answers to 30 validation prompts are judged (realism + autocorrelation,\n"
        "as evaluate measures them) and the epoch whose answers move most like the music is\n"
        "kept; a corpus too short for that keeps the lowest validation loss, as the paper does\n"
        "(training.select_by: auto, answers, loss). Optimizers follow Keras (the paper's\n"
        "framework): adam, nadam, sgd (momentum, nesterov, time-based decay per batch), rmsprop,\n"
        "adagrad, adadelta. The loss is the mixture's negative log-likelihood, summed over\n"
        "dimensions and averaged over steps (nats); with --set training.scale_factor=10 it is\n"
        "comparable with Table I.\n"
        "MODEL_DIR gets the kept weights (safetensors), model.json, config.toml, the history,\n"
        "a checkpoint of every epoch and training.png.",
        epilog="examples:\n"
        "  antiphon train corpus/ -o model/ --epochs 20\n"
        "  antiphon train corpus/ -o sgd/ --optimizer sgd --lr 0.0005 \\\n"
        "      --set training.momentum=0.8 --set training.decay=3.85e-6\n"
        "  antiphon train corpus/ -o model/ --resume       continue a run that was stopped\n\n"
        "Every other setting: `antiphon config`, section [training] and [model].",
        run=_cmd_train,
        arguments=(
            arg("corpus", type=Path, metavar="CORPUS", help="corpus folder from `antiphon dataset`"),
            arg("-o", "--out", type=Path, required=True, metavar="MODEL_DIR", help="model folder to write"),
            SettingFlag("--size", "model.size"),
            SettingFlag("--epochs", "training.epochs"),
            SettingFlag("--batch-size", "training.batch_size"),
            SettingFlag("--optimizer", "training.optimizer"),
            SettingFlag("--lr", "training.lr"),
            SettingFlag("--seed", "training.seed"),
            arg("--resume", action="store_true", help="continue the run in MODEL_DIR from its last checkpoint"),
        ),
    ),
    Command(
        "generate",
        help="continue a prompt with a trained model (offline improvisation)",
        description="Feed --prompt-ms of an analysis file to the model (from its first frame, or from\n"
        "--prompt-start-ms on the file's clock: any point of a recording), then let it continue for\n"
        "--duration-s, sampling each frame from its mixture (temperatures: --pi-temperature for\n"
        "the choice of component, --sigma-temperature for its spread in the frames fed back,\n"
        "--played-sigma-temperature in the frames written). Writes the continuation\n"
        "as an analysis JSON in the prompt's layout (times in ms from the start of the\n"
        "prediction, values in instrument units) and, with --plot, the paper's figure: the\n"
        "prompt, then the prediction, with what really followed in grey.",
        epilog="examples:\n  antiphon generate model/ --prompt take.json --prompt-ms 917 --duration-s 5 -o answer.json --plot answer.png\n"
        "  antiphon generate model/ --prompt take.json --prompt-start-ms 42000 -o answer.json   # from 42 s in",
        run=_cmd_generate,
        arguments=(
            arg("model", type=Path, metavar="MODEL_DIR", help="model folder from `antiphon train`"),
            arg("--prompt", type=Path, required=True, metavar="FILE.json", help="analysis JSON to start from"),
            arg("-o", "--out", type=Path, required=True, metavar="OUT.json", help="continuation to write"),
            arg("--plot", type=Path, metavar="OUT.png", help="also draw the prompt and the prediction"),
            arg("--audio", type=Path, metavar="OUT.wav", help="also render the prediction (and the prompt, as OUT_prompt.wav)"),
            SettingFlag("--prompt-ms", "generate.prompt_ms"),
            SettingFlag("--prompt-start-ms", "generate.prompt_start_ms"),
            SettingFlag("--duration-s", "generate.duration_s"),
            SettingFlag("--pi-temperature", "generate.pi_temperature", "as serve and evaluate; 1 = the model's own weights"),
            SettingFlag("--sigma-temperature", "generate.sigma_temperature", "as serve and evaluate; the frames fed back, the course"),
            SettingFlag(
                "--played-sigma-temperature", "generate.played_sigma_temperature", "as serve and evaluate; the frames written, not fed back"
            ),
            SettingFlag("--chroma-sigma-temperature", "generate.chroma_sigma_temperature", "as serve and evaluate; the chroma's own"),
            SettingFlag("--register-pull-s", "generate.register_pull_s", "as serve and evaluate"),
            SettingFlag(
                "--key-margin", "generate.key_margin", "as serve and evaluate; --set generate.follow_key=false: the model's own keys"
            ),
            SettingFlag("--seed", "generate.seed"),
        ),
    ),
    Command(
        "evaluate",
        help="judge the model's answers against six baselines, with intervals and verdicts",
        description="Teacher-forced: test-split NLL per step and per dimension beside persistence, a\n"
        "per-dimension AR(1) and a VAR(p) (p chosen on validation), as a gain over the best.\n"
        "Free-running: back-to-back prompts over the test blocks (--prompt-ms), 8 answers each over\n"
        "--horizon-s, judged by measures a frozen note cannot win (docs/evaluation.md): the energy\n"
        "score (proper) at 50 ms, 250 ms, 1 s and 5 s; realism (kernel MMD between answer windows\n"
        "and held-out windows); dynamics (step sizes, autocorrelation); conditioning (own prompt's\n"
        "future against other prompts'); novelty (distance to the nearest training window).\n"
        "Baselines: repeat_last, training_mean, sampled var, iid_frames, shuffled_real (what really\n"
        "followed, in random order), nearest_neighbour (a copy); other_passage (real music that\n"
        "followed another prompt) is the yardstick. Bootstrap intervals over prompts, and for each\n"
        "baseline a verdict per measure: the model beats, ties or loses. other_passage gets verdicts\n"
        "too on realism and dynamics: where real music does not beat a baseline, no answer can be\n"
        "shown to, and the ties are printed with both values. Free-running figures are on\n"
        "the linear scale for every model, one trained on a log scale (corpus.log_frequency_knee_hz,\n"
        "corpus.log_chroma_knee) too, so they compare; the NLLs are on the model's own scale.",
        epilog="example:\n  antiphon evaluate model/ corpus/ -o report/      report.json, answers.png, measures.png",
        run=_cmd_evaluate,
        arguments=(
            arg("model", type=Path, metavar="MODEL_DIR", help="model folder from `antiphon train`"),
            arg("corpus", type=Path, metavar="CORPUS", help="corpus folder (its test split is used)"),
            arg("-o", "--out", type=Path, metavar="REPORT_DIR", help="write report.json and the figures here"),
            SettingFlag("--prompt-ms", "evaluate.prompt_ms"),
            SettingFlag("--horizon-s", "evaluate.horizon_s"),
        ),
    ),
    Command(
        "render",
        help="hear analysis frames: synthesise audio from an analysis or prediction JSON",
        description="Synthesise audio from analysis frames, so a performer can hear an answer without the\n"
        "instrument: partials on the pitch classes weighted by chroma, an envelope whose width\n"
        "sets the spread and whose tilt sets the centroid (and with it Peeters' slope), low-passed\n"
        "at the rolloff, at the level of the frame's energy where the file has it. The result is checked by re-analysis: analyze(render(\n"
        "frames)) comes back close on centroid and strongest chroma (docs/evaluation.md).",
        epilog="example:\n  antiphon render answer.json -o answer.wav",
        run=_cmd_render,
        arguments=(
            arg("file", type=Path, metavar="FRAMES.json", help="analysis or prediction JSON"),
            arg("-o", "--out", type=Path, required=True, metavar="OUT.wav", help="WAV to write"),
            arg("--sample-rate", type=int, default=44100, help="Hz (default 44100)"),
        ),
        settings=False,
    ),
    Command(
        "serve",
        help="improvise with a performer in real time over OSC",
        description="Listen for analysis frames over OSC/UDP (one message per frame, the model's features in\n"
        "instrument units) and answer with the model's continuation, each frame sent at its time.\n"
        "Modes (--mode, or /antiphon/mode while it runs):\n"
        + "".join(f"  {mode.name:13s}{mode.summary}\n" for mode in MODES.values())
        + "Every session is logged as JSON Lines in realtime.log_dir (antiphon dataset reads it).\n"
        "Addresses, ports and the protocol are printed at start; stop with Ctrl-C or SIGTERM.",
        epilog="examples:\n"
        "  antiphon serve model/                                  listen on 127.0.0.1:9000, answer to :9001\n"
        "  antiphon serve model/ --port 7000 --send 127.0.0.1:7001 --mode filter\n"
        "  antiphon play take.json --to 127.0.0.1:9000            (another terminal) an instrument stand-in\n\n"
        "Bad packets (malformed, wrong argument count or type, NaN, wildcard addresses, far-future\n"
        "bundles, oversize datagrams) are counted and dropped, never fatal; see docs/osc.md.",
        run=_cmd_serve,
        arguments=(
            arg("model", type=Path, metavar="MODEL_DIR", help="model folder from `antiphon train`"),
            SettingFlag("--port", "realtime.port"),
            arg("--send", metavar="HOST:PORT", help="where answers go (realtime.send_host and send_port)"),
            SettingFlag("--mode", "realtime.mode"),
            SettingFlag("--silence-s", "realtime.silence_s"),
            arg("--log", type=Path, metavar="FILE.jsonl", help="session log (default: a new file in realtime.log_dir)"),
        ),
    ),
    Command(
        "live",
        help="play with the model from a sound card or a recording, and hear it answer",
        description="Analyse audio from an input device (or a file played at its real rate) as the model was\n"
        "trained (model.json's analysis settings; a contradicting --set analysis.* is refused), feed the\n"
        "frames to the model as `serve` does (same modes, silence rule and OSC controls), and sound the\n"
        "answers: partials on the pitch classes of the chroma, shaped by centroid, spread and rolloff, at\n"
        "the performer's level (--output), over OSC (--send) and/or into a WAV (--record).\n"
        "Frames below --gate-dbfs are the performer's silence: after realtime.silence_s of it the model answers.\n"
        "Underruns, overruns and latencies are counted and printed at the end; the session log is training data.",
        epilog="examples:\n"
        "  antiphon live --list-devices\n"
        "  antiphon live demo-output/model --input take.wav --record answer.wav       no sound card needed\n"
        "  antiphon live demo-output/model --input 'Scarlett' --output 'Scarlett'     a guitar in, answers out\n"
        "  antiphon live demo-output/model --input 2 --send 127.0.0.1:9001            answers to a synth over OSC",
        run=_cmd_live,
        arguments=(
            arg("model", type=Path, nargs="?", metavar="MODEL_DIR", help="model folder from `antiphon train`"),
            arg("--list-devices", action="store_true", help="list the audio devices and exit"),
            SettingFlag("--input", "live.input"),
            SettingFlag("--output", "live.output"),
            arg("--send", metavar="HOST:PORT", help="also send answers over OSC there, as serve does (default: not sent)"),
            arg("--record", type=Path, metavar="FILE.wav", help="record the input (left) and the answers (right) as a WAV"),
            SettingFlag("--gate-dbfs", "live.gate_dbfs"),
            SettingFlag("--block-frames", "live.block_frames"),
            SettingFlag("--port", "realtime.port", "OSC controls"),
            SettingFlag("--mode", "realtime.mode"),
            SettingFlag("--silence-s", "realtime.silence_s"),
            arg("--seconds", type=float, metavar="S", help="stop after this long (default: Ctrl-C, or the file's end + live.tail_s)"),
            arg("--log", type=Path, metavar="FILE.jsonl", help="session log (default: a new file in realtime.log_dir)"),
        ),
    ),
    Command(
        "play",
        help="stream an analysis file over OSC at its own timing (an instrument stand-in)",
        description="Send each frame of an analysis JSON as one OSC message (the chosen features, in order, in\n"
        "instrument units) at its own time: for rehearsal, tests, and to prompt `antiphon serve`.",
        epilog="examples:\n  antiphon play take.json --to 127.0.0.1:9000 --model model/\n  antiphon play take.json --to 127.0.0.1:9000 --until-ms 917",
        run=_cmd_play,
        arguments=(
            arg("file", type=Path, metavar="FILE.json", help="analysis JSON to stream"),
            arg("--to", required=True, metavar="HOST:PORT", help="destination"),
            arg("--model", type=Path, metavar="MODEL_DIR", help="send this model's features (default: corpus.features)"),
            arg("--address", help="OSC address (default: realtime.frame_address)"),
            arg("--speed", type=float, default=1.0, help="playback speed (default 1)"),
            arg("--until-ms", type=float, metavar="MS", help="stop after this file time"),
        ),
    ),
    Command(
        "inspect",
        help="check analysis JSON files and summarise them",
        description="Read analysis JSON files (the instrument's, or antiphon's), check them, and print for each\n"
        "the number of frames, the duration, the frame interval and every feature's range.\n"
        "A broken file gives one line naming the file and the JSON path, and exit status 2.",
        epilog="example:\n  antiphon inspect session.json --plot figures/",
        run=_cmd_inspect,
        arguments=(
            arg("files", nargs="+", type=Path, metavar="ANALYSIS.json", help="analysis JSON files"),
            arg("--plot", type=Path, metavar="OUTDIR", help="also write <name>.png, the features over time"),
        ),
        settings=False,
    ),
    Command(
        "config",
        help="print the effective settings as TOML, with what each one means",
        description="Print the settings a command would use (defaults, then --config, then --set) as TOML.",
        run=_cmd_config,
    ),
)
