"""`antiphon study` as a user meets it: help that teaches, the bundled specs, one-line errors."""

from __future__ import annotations

import pytest

from antiphon.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv", [["study", "--help"], ["study", "run", "--help"]])
def test_help_names_the_specs_and_the_resume(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "--scheduler" in out or "table1" in out
    assert "skips finished runs" in out


def test_specs_lists_every_bundled_spec(capsys):
    code, out, _ = run(capsys, "study", "specs")
    assert code == 0
    for name, count in (
        ("table1", "10 configurations x 5 seeds"),
        ("random-search", "60 configurations x 1 seeds"),
        ("decay-ignored", "8"),
        ("nadam-variants", "4"),
        ("demo", "3"),
    ):
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert count in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["study", "run", "no-such-spec", "-o", "{tmp}/s"], "no-such-spec: no such spec file (bundled specs: decay-ignored, demo"),
        (["study", "run", "-o", "{tmp}/s"], "holds no study yet; give the corpus to study with --corpus"),
        (["study", "run", "--corpus", "{tmp}/nothing", "-o", "{tmp}/s"], "nothing"),
        (["study", "run", "demo", "-o", "{tmp}/s", "--workers", "0"], "--workers must be >= 1"),
        (["study", "report", "{tmp}"], "not a study folder (no study.json)"),
    ],
)
def test_errors_are_one_line(argv, message, tmp_path, capsys):
    code, _out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "s" / "study.json").exists()
