"""The command line as a user meets it: outputs, one-line errors with exit status 2, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from antiphon.atomic import atomic_path
from antiphon.cli import main
from antiphon.data.analysis_json import read_analysis
from antiphon.demo import demo_corpus, demo_excerpts
from antiphon.features import analyze_signal
from tests.conftest import SR, sine


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_imports_neither_torch_nor_numpy():
    script = (
        "import sys\nfrom antiphon.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'numpy', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "usage: antiphon" in out and "analyze" in out
    assert "HEAVY []" in out


@pytest.mark.parametrize("command", ["analyze", "demo", "inspect", "config"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "--set SECTION.KEY=VALUE" in capsys.readouterr().out or command == "inspect"


def test_analyze_wav_flac_ogg(tmp_path, capsys, real_clip):
    signal, sr = real_clip
    inputs = []
    for suffix, fmt, subtype in ((".wav", "WAV", "FLOAT"), (".flac", "FLAC", "PCM_24"), (".ogg", "OGG", "VORBIS")):
        path = tmp_path / f"clip_{suffix[1:]}{suffix}"
        sf.write(path, signal[: 2 * sr], sr, format=fmt, subtype=subtype)
        inputs.append(path)
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "analyze", *map(str, inputs), "-o", str(out), "--plot")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([f"clip_{s}.{e}" for s in ("wav", "flac", "ogg") for e in ("json", "png")])
    document = read_analysis(out / "clip_wav.json")
    samples, _ = sf.read(inputs[0], dtype="float64")
    expected = analyze_signal(samples, sample_rate_hz=sr)
    for name in expected.names:
        np.testing.assert_array_equal(document.features[name], expected.column(name))
    assert document.metadata["source"] == {
        "file": "clip_wav.wav",
        "sample_rate_hz": sr,
        "n_channels": 1,
        "n_samples": 2 * sr,
        "duration_s": 2.0,
    }
    assert (out / "clip_ogg.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "clip_flac.json" in stdout


def test_settings_reach_the_analysis(tmp_path, capsys):
    path = tmp_path / "tone.wav"
    sf.write(path, sine(440.0, 1.0), SR)
    code, _, _ = run(capsys, "analyze", str(path), "-o", str(tmp_path / "o"), "--set", "analysis.hop_length=1024")
    assert code == 0
    document = read_analysis(tmp_path / "o" / "tone.json")
    assert document.metadata["analysis"]["hop_length"] == 1024
    assert np.diff(document.times_ms)[0] == pytest.approx(1024 / SR * 1000)


def _bad_audio(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.ogg").write_text("not audio at all\n" * 50)
    (tmp_path / "track.mp3").write_bytes(b"ID3" + bytes(64))
    sf.write(tmp_path / "zero.wav", np.zeros(0), SR)  # a header and no samples
    (tmp_path / "folder.wav").mkdir()
    return {
        "empty.wav": "is empty (0 bytes)",
        "notes.ogg": "not a readable OGG file",
        "track.mp3": "unknown extension '.mp3'",
        "zero.wav": "contains no samples",
        "folder.wav": "is a directory",
    }


def test_bad_audio_gives_one_line_exit_2_and_no_output(tmp_path, capsys):
    good = tmp_path / "good.wav"
    sf.write(good, sine(440.0, 0.5), SR)
    for name, message in _bad_audio(tmp_path).items():
        out = tmp_path / f"out_{name}"
        code, _stdout, stderr = run(capsys, "analyze", str(good), str(tmp_path / name), "-o", str(out))
        assert code == 2, name
        assert stderr.count("\n") == 1, stderr
        assert stderr.startswith(f"antiphon: error: {tmp_path / name}: {message}"), stderr
        assert not out.exists() or list(out.iterdir()) == []  # checked before anything was written


def test_two_inputs_with_one_name(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "take.wav", sine(440.0, 0.2), SR)
    code, _, stderr = run(capsys, "analyze", str(tmp_path / "a/take.wav"), str(tmp_path / "b/take.wav"), "-o", str(tmp_path / "o"))
    assert code == 2 and "would write take.json" in stderr


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"Analysis": {"Spectral": {"SpectralCentroid": [1.0]}}}, "$.Analysis has no 'Time' list"),
        (
            {"Analysis": {"Time": [0, 1], "Spectral": {"SpectralCentroid": [1.0]}}},
            "$.Analysis.Spectral.SpectralCentroid has 1 values but Time has 2",
        ),
        ({"Analysis": {"Time": [0, 1], "Yin": {"Frequency": [1.0, "x"]}}}, "$.Analysis.Yin.Frequency[1] is a string"),
    ],
)
def test_inspect_bad_json(tmp_path, capsys, document, expected):
    path = tmp_path / "take.json"
    path.write_text(json.dumps(document))
    code, stdout, stderr = run(capsys, "inspect", str(path))
    assert code == 2 and stdout == ""
    assert stderr == f"antiphon: error: {path}: {expected}" + stderr[len(f"antiphon: error: {path}: {expected}") :]
    assert stderr.count("\n") == 1


def test_inspect_nan_token(tmp_path, capsys):
    path = tmp_path / "take.json"
    path.write_text('{"Analysis": {"Time": [0, 1], "Spectral": {"SpectralCentroid": [1.0, NaN]}}}')
    code, _, stderr = run(capsys, "inspect", str(path))
    assert code == 2 and f"{path}: $.Analysis.Spectral.SpectralCentroid[1] is nan" in stderr


def test_inspect_summarises_and_plots(tmp_path, capsys):
    path = tmp_path / "inst.json"
    path.write_text(json.dumps({"Analysis": {"Time": [0, 10, 20], "Spectral": {"Centroid": [100, 200, 300]}}, "Device": "x"}))
    code, stdout, _ = run(capsys, "inspect", str(path), "--plot", str(tmp_path / "figs"))
    assert code == 0
    assert "3 frames, 0.02 s, median frame interval 10.00 ms" in stdout
    assert "SpectralCentroid" in stdout and "median 200" in stdout
    assert (tmp_path / "figs" / "inst.png").exists()


def test_bad_config_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "tone.wav"
    sf.write(path, sine(440.0, 0.2), SR)
    code, _, stderr = run(capsys, "analyze", str(path), "-o", str(tmp_path / "o"), "--set", "analysis.window=nosuchwindow")
    assert code == 2 and "analysis.window: unknown window 'nosuchwindow'" in stderr
    assert not (tmp_path / "o" / "tone.json").exists()


def test_a_yin_floor_the_frame_cannot_reach_is_a_setting_error(tmp_path, capsys):
    path = tmp_path / "tone.wav"
    sf.write(path, sine(440.0, 0.2), SR)
    code, stdout, stderr = run(capsys, "analyze", str(path), "-o", str(tmp_path / "o"), "--set", "analysis.yin_min_freq_hz=20")
    assert code == 2 and stdout == "" and stderr.count("\n") == 1, stderr
    assert "analysis.yin_min_freq_hz=20" in stderr and "analysis.n_fft" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_config_command_prints_toml(capsys):
    code, stdout, _ = run(capsys, "config", "--set", "analysis.hop_length=300")
    assert code == 0 and "hop_length = 300" in stdout


#: the demo's wiring at the smallest sizes (its numbers are `make demo`'s): one epoch of an xxs model on every
#: 8th window, a short answer
QUICK_DEMO = (
    "model.size=xxs",
    "training.epochs=1",
    "training.window_stride=8",
    "generate.duration_s=1",
    "evaluate.max_prompts=4",
    "evaluate.n_samples=2",
    "evaluate.n_bootstrap=100",
)
QUICK_STUDY = """\
name = "quick"
description = "the demo's study wiring: two optimizers, one seed, one epoch"
seeds = [0]
[base.model]
size = "xxs"
n_mixtures = 2
[base.training]
epochs = 1
window_stride = 8
[base.evaluate]
max_prompts = 2
n_samples = 2
n_bootstrap = 100
[measure]
windows = 8
lanczos_restarts = 1
tolerance = 0.1
ascent_steps = 2
slice_points = 3
slice_directions = 1
epsilons = [0.001]
[[run]]
name = "Adam"
training = { optimizer = "adam", lr = 0.001 }
[[run]]
name = "SGD"
training = { optimizer = "sgd", lr = 0.01, momentum = 0.9 }
"""


def test_demo_writes_every_stage(tmp_path, capsys):
    spec = tmp_path / "quick.toml"
    spec.write_text(QUICK_STUDY)
    out = tmp_path / "out"
    settings = [arg for item in QUICK_DEMO for arg in ("--set", item)]
    # on the 60 s excerpts (the bundled whole stems take a minute more to analyse; test below)
    recordings = [str(p) for p in demo_excerpts()]
    code, stdout, _ = run(capsys, "demo", "-o", str(out), "--study", str(spec), "--recordings", *recordings, *settings)
    assert code == 0
    assert "4 recordings through the whole path" in stdout
    written = sorted(p.name for p in (out / "analysis").iterdir())
    assert len(written) == 8 and sum(n.endswith(".png") for n in written) == 4
    document = read_analysis(out / "analysis" / "sectoid_feelings_guitar.json")
    assert document.n_frames == 5164  # 60.0 s at 44.1 kHz, hop 512, non-centred frames of 2048 samples: (2,646,000 - 2,048) // 512 + 1
    for path in (
        "corpus/corpus.json",
        "model/model.json",
        "generated/continuation.json",
        "generated/continuation.png",
        "generated/continuation.wav",
        "evaluation/report.json",
        "live/answer.json",
        "live/answer.png",
        "sessions/demo-session.jsonl",
        "study/report.html",
        "study/report.json",
    ):
        assert (out / path).is_file(), path
    assert str(out.resolve()) in stdout and "the `" + str(spec) + "` spec" in stdout
    assert "Against repeat_last, the model" in stdout and "other_passage" in stdout and "ES@0.25s" in stdout
    assert "The model beats or ties every baseline" in stdout or "The model does not beat every baseline: it loses to" in stdout
    report = json.loads((out / "study" / "report.json").read_text())
    assert [r["configuration"] for r in report["runs"]] == ["Adam", "SGD"]


def test_the_demo_corpus_is_the_four_whole_stems():
    """What `antiphon demo` analyses without --recordings: 13.5 minutes of guitar, one stem per song."""
    stems = demo_corpus()
    assert [p.name for p in stems] == [
        f"sectoid_{song}_guitar.ogg" for song in ("escape_from_chaosland", "feelings", "metal_madness", "war_of_freedom")
    ]
    durations = [sf.info(str(p)).duration for p in stems]
    assert sum(durations) == pytest.approx(813.0, abs=1.0) and all(d > 120 for d in durations)
    assert sf.info(str(stems[1])).frames == 12_700_933  # feelings, 288.0 s: 24,803 analysis frames


def test_demo_refuses_missing_recordings_before_any_work(tmp_path, capsys):
    code, _stdout, stderr = run(capsys, "demo", "-o", str(tmp_path / "out"), "--recordings", str(tmp_path / "nosuch.wav"))
    assert code == 2 and "nosuch.wav: no such file" in stderr and not (tmp_path / "out" / "corpus").exists()


def test_demo_refuses_an_unknown_study_before_any_work(tmp_path, capsys):
    code, _stdout, stderr = run(capsys, "demo", "-o", str(tmp_path / "out"), "--study", "nosuchspec")
    assert code == 2 and "nosuchspec: no such spec file" in stderr and not (tmp_path / "out").exists()


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half of a file")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ dataset, train, generate


def _write_docs(folder: Path, docs) -> list[Path]:
    from antiphon.data.analysis_json import write_analysis

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc in docs:
        path = folder / Path(doc.source).name
        write_analysis(path, doc)
        paths.append(path)
    return paths


FEATURE_FLAGS = ("--set", 'corpus.features=["SpectralCentroid", "SpectralSkewness", "Chroma01"]')


def test_dataset_train_generate(tmp_path, capsys):
    from tests.conftest import synthetic_document

    _write_docs(tmp_path / "analysis", [synthetic_document(300, p, f"t{i}.json") for i, p in enumerate((0.0, 1.0, 2.0))])
    code, stdout, _ = run(capsys, "dataset", str(tmp_path / "analysis"), "-o", str(tmp_path / "corpus"), *FEATURE_FLAGS)
    assert code == 0 and "3 files, 897 rows" in stdout and "SpectralSkewness" in stdout
    assert "quiet frames not checked (no TotalEnergy in the analysis): t0.json, t1.json, t2.json" in stdout
    code, stdout, _ = run(
        capsys,
        "train",
        str(tmp_path / "corpus"),
        "-o",
        str(tmp_path / "model"),
        "--size",
        "xxs",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--optimizer",
        "sgd",
        "--lr",
        "0.01",
        "--seed",
        "5",
        "--set",
        "training.sequence_length=10",
        "--set",
        "training.momentum=0.8",
    )
    assert code == 0 and "trained 2 epochs" in stdout
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["model"]["size"] == "xxs"
    t = meta["training"]
    assert (t["epochs"], t["batch_size"], t["optimizer"], t["lr"], t["seed"], t["momentum"]) == (2, 16, "sgd", 0.01, 5, 0.8)
    code, stdout, _ = run(
        capsys,
        "generate",
        str(tmp_path / "model"),
        "--prompt",
        str(tmp_path / "analysis" / "t0.json"),
        "--prompt-ms",
        "400",
        "--duration-s",
        "1",
        "-o",
        str(tmp_path / "out.json"),
        "--plot",
        str(tmp_path / "out.png"),
        "--seed",
        "3",
        "--pi-temperature",
        "0.7",
        "--register-pull-s",
        "0.5",
        "--key-margin",
        "0.7",
        "--audio",
        str(tmp_path / "out.wav"),
        "--prompt-start-ms",
        "1000",
    )
    assert code == 0 and "prompt frames" in stdout
    assert sf.info(str(tmp_path / "out.wav")).frames > 0 and sf.info(str(tmp_path / "out_prompt.wav")).duration > 0.3
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["antiphon"]["generate"]["seed"] == 3 and written["antiphon"]["generate"]["pi_temperature"] == 0.7
    assert written["antiphon"]["generate"]["register_pull_s"] == 0.5 and written["antiphon"]["generate"]["key_margin"] == 0.7
    assert written["antiphon"]["prompt"]["start_ms"] == 1000.0 and written["antiphon"]["prompt"]["n_frames"] == 40
    assert written["antiphon"]["prompt"]["key_shift"] in range(12)  # the semitones the model heard the prompt moved
    assert (tmp_path / "out.png").exists()


def test_dataset_bad_inputs(tmp_path, capsys):
    from antiphon.data.analysis_json import new_document
    from tests.conftest import synthetic_document

    (tmp_path / "empty").mkdir()
    good = _write_docs(tmp_path / "good", [synthetic_document(50, 0.0, "good.json")])[0]
    one = _write_docs(tmp_path / "one", [new_document(np.array([5.0]), {"SpectralCentroid": np.ones(1)}, {}, source="one.json")])[0]
    other = _write_docs(tmp_path / "other", [new_document(np.arange(5.0), {"Frequency": np.ones(5)}, {}, source="other.json")])[0]
    three = {name: np.ones(3) for name in ("SpectralCentroid", "SpectralSkewness", "Chroma01")}
    repeat = _write_docs(tmp_path / "rep", [new_document(np.array([0.0, 5.0, 5.0]), three, {}, source="rep.json")])[0]
    nan = tmp_path / "nan.json"
    nan.write_text('{"Analysis": {"Time": [0, 5], "Spectral": {"SpectralCentroid": [1.0, NaN]}}}')
    cases = [
        ([str(tmp_path / "empty")], "no analysis JSON or audio files"),
        ([str(one)], f"{one}: has 1 frame(s); a corpus needs at least 2"),
        ([str(good), str(other)], f"{other}: has no feature SpectralCentroid"),
        ([str(repeat)], f"{repeat}: Time[2] = 5 ms repeats Time[1] = 5 ms"),
        ([str(nan)], f"{nan}: $.Analysis.Spectral.SpectralCentroid[1] is nan"),
    ]
    for inputs, message in cases:
        code, _, stderr = run(capsys, "dataset", *inputs, "-o", str(tmp_path / "corpus"), *FEATURE_FLAGS)
        assert code == 2 and message in stderr and stderr.count("\n") == 1, stderr
        assert not (tmp_path / "corpus").exists()


def test_train_and_generate_bad_inputs(tmp_path, capsys):
    code, _, stderr = run(capsys, "train", str(tmp_path / "nowhere"), "-o", str(tmp_path / "m"))
    assert code == 2 and "not a corpus folder" in stderr
    (tmp_path / "m").mkdir()
    code, _, stderr = run(capsys, "generate", str(tmp_path / "m"), "--prompt", str(tmp_path / "p.json"), "-o", str(tmp_path / "o.json"))
    assert code == 2 and f"{tmp_path / 'm' / 'model.json'}: missing" in stderr and stderr.count("\n") == 1
