"""Study specs: the bundled Table I, run keys, errors that name the file and the run."""

from __future__ import annotations

import dataclasses

import pytest

from antiphon.config import PAPER_MODEL
from antiphon.errors import ConfigError
from antiphon.study.spec import load_spec, run_key, with_seed


def test_table_one_as_the_paper_has_it():
    spec = load_spec()
    assert len(spec.configurations) == 10 and spec.seeds == (0, 1, 2, 3, 4)
    rows = {c.name: c for c in spec.configurations}
    sgd = rows["SGD, lr 0.0005, decay 0.0005/130, Nesterov momentum 0.8"].config.training
    assert (sgd.optimizer, sgd.lr, sgd.momentum, sgd.nesterov) == ("sgd", 0.0005, 0.8, True)
    assert sgd.decay == pytest.approx(0.0005 / 130)
    assert rows["Adam, lr 0.00005"].paper == {"min_val_loss": -80.77, "epoch": 21}
    for c in spec.configurations:
        t = c.config.training
        assert (t.batch_size, t.epochs, t.patience, t.scale_factor, c.config.model.size) == (64, 130, 20, 10.0, "s")
        assert t.select_by == "loss"  # Table I's minimum validation loss, not the epoch whose answers move best
        assert c.config.corpus.validation_fraction == 0.1


def test_run_keys_are_stable_and_distinct():
    spec = load_spec()
    runs = spec.runs()
    assert len(runs) == 50 and len({key for _, _, key in runs}) == 50
    assert [key for _, _, key in runs] == [key for _, _, key in load_spec().runs()]
    config = spec.configurations[0].config
    assert run_key(with_seed(config, 3), 3) == run_key(config, 3)  # the seed in the key is the run's


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'seeds = [0]\n[[run]]\nname = "a"\ntraining = { optimizer = "adam", momentum = 0.5 }\n',
            r"\[\[run\]\] 1 \(a\): training.momentum and nesterov are sgd settings",
        ),
        ('seeds = [0]\n[[run]]\nname = "a"\ntraining = { optimiser = "adam" }\n', r"\[\[run\]\] 1 \(a\): unknown key 'training.optimiser'"),
        ('seeds = [0]\n[[run]]\nname = "a"\nrealtime = { port = 1 }\n', r"\[\[run\]\] 1: can only change model, training, corpus"),
        ('seeds = []\n[[run]]\nname = "a"\n', "seeds must be a non-empty list"),
        ("seeds = [0]\n", "needs at least one"),
        ('seeds = [0]\n[[run]]\nname = "a"\n[[run]]\nname = "a"\n', "used twice"),
    ],
)
def test_bad_specs(tmp_path, text, message):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_spec(path)
    assert str(info.value).startswith(str(path))


def test_bundled_specs_all_load_and_are_named():
    from antiphon.study.spec import bundled_specs, resolve_spec

    specs = bundled_specs()
    assert {"table1", "decay-ignored", "nadam-variants", "random-search", "demo"} <= set(specs)
    for name in specs:
        assert load_spec(resolve_spec(name)).configurations
        for configuration in load_spec(resolve_spec(name)).configurations:  # the paper's MDRNN, whatever the defaults
            model = configuration.config.model
            assert dataclasses.replace(PAPER_MODEL, size=model.size, init=model.init, n_mixtures=model.n_mixtures) == model, (name, model)
    decay = {c.name: c.config.training for c in load_spec(specs["decay-ignored"]).configurations}
    assert decay["SGD 0.01, momentum 0.8, decay ignored"].decay == 0 and decay["SGD 0.01, momentum 0.8, decay 0.01/130"].decay > 0
    variants = {c.config.training.nadam_variant for c in load_spec(specs["nadam-variants"]).configurations}
    assert variants == {"legacy", "keras3"}


def test_random_search_gives_every_family_the_same_budget_inside_its_space():
    from antiphon.study.spec import bundled_specs

    spec = load_spec(bundled_specs()["random-search"])
    families: dict[str, list] = {}
    for c in spec.configurations:
        families.setdefault(c.family, []).append(c.config.training)
    assert {name: len(t) for name, t in families.items()} == {"SGD": 20, "Adam": 20, "Nadam": 20}
    for name, trainings in families.items():
        lrs = [t.lr for t in trainings]
        assert all(1e-5 <= lr <= 1e-1 for lr in lrs)
        assert max(lrs) / min(lrs) > 100  # the low-discrepancy sequence covers the log range
        assert {t.optimizer for t in trainings} == {name.lower()}
    assert all(0.8 <= t.momentum <= 0.99 for t in families["SGD"])
    assert {t.nesterov for t in families["SGD"]} == {False, True}
    again = load_spec(bundled_specs()["random-search"])
    assert [c.config for c in again.configurations] == [c.config for c in spec.configurations]  # seeded: the same trials


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[search]]\nname = "A"\ntrials = 2\nspace = { "training.lr" = { gauss = [1, 2] } }\n', "must be { uniform"),
        ('[[search]]\nname = "A"\ntrials = 0\nspace = { "training.lr" = { uniform = [1, 2] } }\n', "trials must be a positive integer"),
        ('[[search]]\nname = "A"\ntrials = 2\nspace = { "lr" = { uniform = [1, 2] } }\n', "must be section.key"),
        ('[[search]]\nname = "A"\ntrials = 2\nspace = { "training.lr" = { log_uniform = [0, 2] } }\n', "positive bounds"),
        ('[[run]]\nname = "a"\ncorpus = { train_fraction = 0.5 }\n[[run]]\nname = "b"\n', "same corpus settings"),
        ('[measure]\nwindows = 0\n[[run]]\nname = "a"\n', r"\[measure\]: measure.windows must be >= 1"),
    ],
)
def test_bad_searches_and_measures(tmp_path, text, message):
    path = tmp_path / "spec.toml"
    path.write_text("seeds = [0]\n" + text)
    with pytest.raises(ConfigError, match=message):
        load_spec(path)
