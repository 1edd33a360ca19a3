"""``antiphon evaluate``: the model's answers judged by measures a frozen note cannot win (docs/evaluation.md).

Teacher-forced: the NLL of every test step (dequantised as in training, in the model's units),
in total and per dimension, beside three linear Gaussian baselines fitted on the training split
(persistence, per-dimension AR(1), VAR(p) with p chosen on validation), as a gain over the best.

Free-running, on the linear scale whatever scale the model learned on (a model with frequencies or chroma on a
log scale, ``corpus.log_frequency_knee_hz`` or ``corpus.log_chroma_knee``, is prompted and judged in the same units as one without,
so their figures compare): back-to-back prompts over the test blocks; each system answers each prompt
(``n_samples`` times where it is random) for ``horizon_s``; then
- the energy score at each lead time of ``horizons_s`` against what really followed;
- realism: MMD^2 between descriptors of the answers' windows and of held-out (validation) windows;
- dynamics: MMD^2 between the answers' step-size profiles and autocorrelation profiles and those
  of held-out stretches as long (a distribution against a distribution: a distance to the
  average profile, or to the real steps pooled, would rank a generator whose every answer is
  average above real music, whose passages differ);
- conditioning: the energy score against the prompt's own future versus other prompts' futures;
- novelty: the distance to the nearest training window (a copy is flagged).
Every number has a bootstrap interval over prompts, and every baseline gets a verdict per
measure (the model beats, ties or loses). ``other_passage`` -- the real music that followed
another prompt -- is scored too, as the reference that every measure must rank above the
degenerate baselines.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.atomic import write_json_atomic
from antiphon.config import EvaluateConfig, to_dict
from antiphon.data.corpus import Corpus
from antiphon.errors import DataError
from antiphon.evaluation import baselines, linear, measures
from antiphon.model.directory import Timing, TrainedModel
from antiphon.model.level import model_inputs

#: systems in report order: the model, then the baselines it must beat
SYSTEMS = ("model", "repeat_last", "training_mean", "var", "iid_frames", "shuffled_real", "nearest_neighbour")
#: real music from another passage: not a baseline, the yardstick every measure must rank high
REFERENCE = "other_passage"
#: (key, what, lower is better) of the measures that get verdicts
VERDICT_MEASURES = ("energy_score", "realism_mmd2", "steps_mmd2", "acf_mmd2")
#: the passages whose step sizes are profiled, in seconds (or the whole answer where ``horizon_s`` is shorter): an
#: answer gives one per second, real music one starting every eighth of one (1 s holds a pause, a held chord or a
#: run, and a prompt's future is seldom shorter)
STEPS_PASSAGE_S = 1.0
#: answers per prompt used for realism and dynamics (the energy score uses all n_samples)
SHAPE_SAMPLES = 2
#: other prompts' futures each answer is scored against in the conditioning measure
SWAPS = 16


@dataclass(frozen=True)
class Prompt:
    """A prompt and what followed it, as rows at scale 1 (features in [0, 1] on the linear scale)."""

    segment: int
    start_s: float
    rows: np.ndarray  # (P, D)
    future_s: np.ndarray  # (n,) times of the real continuation from the prompt's end
    future: np.ndarray  # (n, F) features of the real continuation


def times_of(rows: np.ndarray, dt_modelled: bool, hop_s: float) -> np.ndarray:
    """Frame times (N,) in seconds, the first at one step: from the dt column, or at the hop."""
    return np.cumsum(rows[:, 0]) if dt_modelled else hop_s * np.arange(1, rows.shape[0] + 1)


def features_of(rows: np.ndarray, dt_modelled: bool) -> np.ndarray:
    return rows[:, 1:] if dt_modelled else rows


def draw_prompts(
    segments: Sequence[np.ndarray], config: EvaluateConfig, dt_modelled: bool, hop_s: float, split: str = "test"
) -> list[Prompt]:
    """Back-to-back (non-overlapping) prompts of ``prompt_ms`` over each block of ``split`` (named in
    errors), each with at least the shortest lead time of real future after it; at most
    ``max_prompts``, evenly spread.

    Raises:
        DataError: no rows, or no block long enough for one prompt and its shortest horizon.
    """
    if not segments:
        hint = ": evaluate needs a test split (corpus.train_fraction + validation_fraction < 1)" if split == "test" else ""
        raise DataError(f"the corpus has no {split} rows{hint}")
    prompt_s, shortest = config.prompt_ms / 1000.0, min(config.horizons_s)
    found: list[Prompt] = []
    for index, rows in enumerate(segments):
        times = np.concatenate([[0.0], times_of(rows, dt_modelled, hop_s)])  # times[i]: when row i ends
        start = 0
        while True:
            stop = int(np.searchsorted(times, times[start] + prompt_s, side="right")) - 1
            if stop - start < 2 or stop >= rows.shape[0]:
                break
            after = times[stop + 1 :] - times[stop]
            if after.size == 0 or after[-1] < shortest - 1e-9:
                break
            n_future = int(np.searchsorted(after, config.horizon_s - 1e-9, side="left")) + 1  # the first at or past it too
            future = rows[stop : stop + n_future]
            found.append(Prompt(index, float(times[start]), rows[start:stop], after[: future.shape[0]], features_of(future, dt_modelled)))
            start = stop
    if not found:
        longest = max(float(times_of(r, dt_modelled, hop_s)[-1]) for r in segments)
        raise DataError(
            f"the longest {split} block lasts {longest:.2f} s; a {config.prompt_ms:g} ms prompt and {shortest:g} s of what "
            f"followed need more: shorten evaluate.prompt_ms or give longer files"
        )
    if len(found) > config.max_prompts:
        found = [found[i] for i in np.linspace(0, len(found) - 1, config.max_prompts).round().astype(int)]
    return found


# --------------------------------------------------------------------------------------------
# Teacher-forced


def teacher_forced(model, info, corpus: Corpus, config: EvaluateConfig) -> dict[str, Any]:
    """Test NLL of the model and of the linear baselines on the same dequantised steps, per step and
    per dimension, in the model's units (nats, data x scale_factor); the model's gain over the best."""
    import torch

    from antiphon.model.mdn import mdn_log_likelihood, mdn_marginals

    scale = info.training.scale_factor
    widths = info.resolution * scale
    splits = {split: corpus.held_out_segments(split, scale, widths, info.scaler) for split in ("train", "validation", "test")}
    skip = config.var_max_order
    tests = [rows for rows in splits["test"] if rows.shape[0] > skip]
    if not tests:
        raise DataError(f"no test block is longer than {skip} steps (evaluate.var_max_order): give longer files")
    joint, marginal = [], []
    with torch.no_grad():
        for rows in tests:
            x = torch.as_tensor(
                model_inputs(rows[:-1], info.model.level_steps, info.model.activity_steps, info.model.onset_clock)
            ).unsqueeze(0)
            y = torch.as_tensor(rows[1:]).unsqueeze(0)
            (mu, sigma, logits), _ = model(x)
            joint.append(mdn_log_likelihood(mu, sigma, logits, y, model.tails)[0, skip - 1 :].numpy())
            marginal.append(mdn_marginals(mu, sigma, logits, y, model.tails)[0][0, skip - 1 :].numpy())
    columns = info.columns
    systems: dict[str, Any] = {"model": _nll_entry(np.concatenate(joint), np.concatenate(marginal), columns)}
    var, by_order = linear.choose_var(splits["train"], splits["validation"], config.var_max_order)
    for fitted in (linear.fit_persistence(splits["train"]), linear.fit_ar1(splits["train"]), var):
        j, m = fitted.log_likelihoods(tests, skip)
        name = "var" if fitted is var else fitted.name
        systems[name] = _nll_entry(j, m, columns) | ({"order": var.order, "validation_nll": by_order} if fitted is var else {})
    best = min(("persistence", "ar1", "var"), key=lambda s: systems[s]["nll"])
    gain = {c: systems[best]["per_dimension"][c] - systems["model"]["per_dimension"][c] for c in columns}
    total = systems[best]["nll"] - systems["model"]["nll"]
    better = sum(g > 0 for g in gain.values())
    return {
        "units": f"nats per step, {len(columns)} dimensions, data scaled by {scale:g}, dequantised as in training",
        "steps": int(np.concatenate(joint).size),
        "skipped_steps_per_block": skip,
        "systems": systems,
        "best_baseline": best,
        "gain_over_best": total,
        "gain_per_dimension": gain,
        "dimensions_better": better,
        "words": (
            f"Teacher-forced, the model {'beats' if total > 0 else 'loses to'} the best linear baseline ({best}) by "
            f"{abs(total):.2f} nats per step, and is better on {better} of {len(columns)} dimensions."
        ),
    }


def _nll_entry(joint: np.ndarray, marginal: np.ndarray, columns: Sequence[str]) -> dict[str, Any]:
    return {"nll": float(-joint.mean()), "per_dimension": dict(zip(columns, (-marginal.mean(axis=0)).tolist()))}


# --------------------------------------------------------------------------------------------
# Free-running


@dataclass(frozen=True)
class Answers:
    """One system's answers: per prompt, ``times`` (N,) seconds and ``values`` (M, N, F) normalised."""

    times: list[np.ndarray]
    values: list[np.ndarray]


def answer_all(
    systems: Sequence[str],
    prompts: Sequence[Prompt],
    timing: Timing,
    training: Sequence[np.ndarray],
    var: linear.LinearGaussian | None,
    config: EvaluateConfig,
    engine=None,
    on_prompt: Callable[[], None] | None = None,
) -> dict[str, Answers]:
    """Every system's answers to every prompt, and :data:`REFERENCE`'s (see :class:`Answers`).

    ``training`` are the training split's feature rows; ``engine`` (the model) is needed only when
    "model" is among ``systems``, ``var`` (fitted on feature rows) only when "var" is.
    """
    dt_modelled, hop = timing.dt_modelled, timing.hop_s
    n = int(np.ceil(config.horizon_s / hop - 1e-9))
    grid = hop * np.arange(1, n + 1)
    pool = np.concatenate(training)
    mean = pool.mean(axis=0)
    rng = np.random.default_rng(config.seed)
    out = {system: Answers([], []) for system in (*systems, REFERENCE)}
    others = other_passages(prompts)
    m = config.n_samples
    for i, prompt in enumerate(prompts):
        features = features_of(prompt.rows, dt_modelled)
        for system in systems:
            if system == "model":
                engine.reset()
                engine.feed_normalised(prompt.rows)
                state = engine.get_state()
                runs = []
                for _ in range(m):
                    engine.set_state(state)
                    runs.append(engine.continue_normalised(config.horizon_s, rng))
                if dt_modelled:  # irregular times: put every member on the hop grid (sample and hold)
                    values = np.stack([v[np.clip(np.searchsorted(t, grid + 1e-9, side="right") - 1, 0, None)] for t, v in runs])
                else:
                    values = np.stack([v[:n] for _, v in runs])
            elif system == "repeat_last":
                values = baselines.repeat_last(features, n)[None]
            elif system == "training_mean":
                values = baselines.training_mean(mean, n)[None]
            elif system == "var":
                values = np.stack([baselines.var_answer(var, features, n, rng) for _ in range(m)])
            elif system == "iid_frames":
                values = np.stack([baselines.iid_frames(pool, n, rng) for _ in range(m)])
            elif system == "shuffled_real":
                values = np.stack([baselines.shuffled_real(prompt.future, n, rng) for _ in range(m)])
            elif system == "nearest_neighbour":
                values = baselines.nearest_neighbour(features, n, training)[None]
            else:
                raise ValueError(f"unknown system {system!r} (known: {', '.join(SYSTEMS)})")
            out[system].times.append(grid)
            out[system].values.append(values)
        other = prompts[others[i]]
        out[REFERENCE].times.append(other.future_s)
        out[REFERENCE].values.append(other.future[None])
        if on_prompt is not None:
            on_prompt()
    return out


def other_passages(prompts: Sequence[Prompt]) -> list[int]:
    """For each prompt, the prompt half-way round the list (in order of block and time): its real
    continuation is 'real music from another passage'.

    A rotation, so every real continuation is used exactly once and the yardstick's answers are
    the set of what really followed. Choosing, for each prompt, the one with the longest future
    picked the same few passages over and over, and every repeat counted as a perfect match in the
    MMD measures' within term: on the demo corpus real music scored 0.292 on autocorrelation where
    the set of real continuations scores 0.165 (docs/evaluation.md). Half-way round is in another
    block whenever no block holds more than half the prompts, and far away within one otherwise.
    A passage whose future is shorter than a lead time has no score there.
    """
    n = len(prompts)
    return [(i + n // 2) % n for i in range(n)]


@dataclass(frozen=True)
class Reference:
    """What held-out real music looks like: window descriptors, the step-size profiles of its
    passages of ``steps_rows`` rows, and the autocorrelation profiles of its stretches as long as an
    answer (``acf_rows`` rows)."""

    windows: measures.DescriptorReference
    steps: measures.DescriptorReference
    acf: measures.DescriptorReference
    acf_rows: int
    steps_rows: int

    @classmethod
    def from_segments(
        cls,
        segments: Sequence[np.ndarray],
        window: int,
        chunk: int,
        lags: Sequence[int],
        split: str = "held-out",
        steps_chunk: int = 86,  # 1 s at the analysis hop (STEPS_PASSAGE_S)
    ) -> Reference:
        """From held-out feature rows (n_i, F) of the ``split`` named in errors. Autocorrelation
        profiles are taken over stretches of ``chunk`` rows (an answer's length; shorter where no
        segment is that long, and answers are then profiled over as many of their first rows), step-size
        profiles over passages of ``steps_chunk`` rows (as short where needed), each starting every eighth of one.

        Raises:
            DataError: no rows, fewer than two windows or stretches fit, or the longest block is not
                longer than the longest lag.
        """
        longest = max((s.shape[0] for s in segments), default=0)
        rows = min(chunk, longest)
        if rows <= max(lags):
            raise DataError(
                f"the {split} split's longest block has {longest} rows; autocorrelation at lag {max(lags)} needs more "
                "(lower evaluate.lags, or give longer files)"
            )
        steps_rows = min(steps_chunk, longest)
        steps = np.concatenate([measures.step_profiles(s, steps_rows, max(1, steps_rows // 8)) for s in segments])
        profiles = np.concatenate([measures.acf_profiles(s, lags, rows, max(1, rows // 8)) for s in segments])
        windows = np.concatenate([measures.window_descriptors(s, window) for s in segments])
        try:
            return cls(
                measures.DescriptorReference.fit(windows, f"window(s) of {window} frames"),
                measures.DescriptorReference.fit(steps, f"passage(s) of {steps_rows} frames", per_dimension=False),  # all in decades
                measures.DescriptorReference.fit(profiles, f"stretch(es) of {rows} frames"),
                rows,
                steps_rows,
            )
        except ValueError as exc:
            raise DataError(f"the {split} split: {exc} (shorten evaluate.window_s, or give longer files)") from exc


def score_answers(
    answers: Answers, prompts: Sequence[Prompt], reference: Reference, training: Sequence[np.ndarray], config: EvaluateConfig, window: int
) -> dict[str, Any]:
    """Per-prompt values of every measure for one system (NaN where a prompt's future is too short)."""
    p = len(prompts)
    lead = {}
    for h in config.horizons_s:
        scores = np.full(p, np.nan)
        for i, prompt in enumerate(prompts):
            observed = measures.frame_at(prompt.future_s, prompt.future, h)
            members = [measures.frame_at(answers.times[i], member, h) for member in answers.values[i]]
            if observed is not None and all(m is not None for m in members):
                scores[i] = measures.energy_scores(observed[None], np.stack(members)[None])[0]
        lead[f"{h:g}"] = scores
    own, swapped = np.full(p, np.nan), np.full(p, np.nan)
    h = config.conditioning_horizon_s
    observed = [measures.frame_at(q.future_s, q.future, h) for q in prompts]
    rng = np.random.default_rng(config.seed + 1)
    for i in range(p):
        members = [measures.frame_at(answers.times[i], member, h) for member in answers.values[i]]
        others = [j for j in range(p) if j != i and observed[j] is not None]
        if observed[i] is None or not others or any(m is None for m in members):
            continue
        ensemble = np.stack(members)[None]
        own[i] = measures.energy_scores(observed[i][None], ensemble)[0]
        picked = rng.choice(others, size=min(SWAPS, len(others)), replace=False)
        swapped[i] = float(
            np.mean(measures.energy_scores(np.stack([observed[j] for j in picked]), np.repeat(ensemble, len(picked), axis=0)))
        )
    windows, profiles, steps, novelty = [], [], [], np.full(p, np.nan)
    for i in range(p):
        shown = answers.values[i][:SHAPE_SAMPLES]
        windows.append(np.concatenate([measures.window_descriptors(v, window) for v in shown]))
        # one profile per answer, over its first acf_rows rows (the length of the reference's stretches)
        profiles.append(np.concatenate([measures.acf_profiles(v[: reference.acf_rows], config.lags, reference.acf_rows) for v in shown]))
        steps.append(np.concatenate([measures.step_profiles(v, reference.steps_rows) for v in shown]))
        rows = shown[0][: config.novelty_rows]
        if rows.shape[0] >= 2:
            novelty[i] = measures.nearest_window_distance(rows, training)
    return {
        "energy_score": lead,
        "conditioning": (own, swapped),
        "novelty": novelty,
        "realism_mmd2": _blocks(windows, reference.windows),
        "steps_mmd2": _blocks(steps, reference.steps),
        "acf_mmd2": _blocks(profiles, reference.acf),
    }


def _blocks(descriptors: list[np.ndarray], reference: measures.DescriptorReference) -> tuple[list[int], measures.MMDBlocks | None]:
    """The prompts whose answers have descriptors (an answer shorter than a window or a stretch has
    none), and their MMD blocks against ``reference`` (None when no prompt has any)."""
    usable = [i for i, d in enumerate(descriptors) if d.shape[0]]
    return usable, (measures.mmd_blocks([descriptors[i] for i in usable], reference) if usable else None)


def reference_music(music: Sequence[np.ndarray], config: EvaluateConfig, hop_s: float, split: str) -> tuple[int, Reference]:
    """The realism window in rows (``window_s`` at the hop, at least 2) and the :class:`Reference`
    of ``music`` (feature rows of ``split``) for answers of ``horizon_s``: evaluate's and the judge's."""
    window = max(2, round(config.window_s / hop_s))
    chunk = int(np.ceil(config.horizon_s / hop_s - 1e-9))
    steps = max(2, min(round(STEPS_PASSAGE_S / hop_s), chunk))  # an answer shorter than a passage is one
    return window, Reference.from_segments(music, window, chunk, config.lags, split, steps)


@dataclass(frozen=True)
class AnswerJudge:
    """How much a model's answers move like the music of one split, cheaply enough to judge every
    checkpoint of a training run (``training.select_by = "answers"``).

    Prompts are drawn from the split as :func:`evaluate` draws them from the test split (at most
    ``config.max_prompts``), each answered ``config.n_samples`` times; the answers' realism and
    autocorrelation are the MMD² measures of :func:`evaluate` (docs/evaluation.md), against that
    split's own music. On the demo corpus the validation split's judgement ranked ten checkpoints
    as the test split's full judgement did (Spearman ρ 0.95 and 0.94 at 30 prompts and 2 answers;
    docs/model.md, round 6).
    """

    prompts: list[Prompt]
    reference: Reference
    training: list[np.ndarray]
    timing: Timing
    config: EvaluateConfig
    window: int

    @classmethod
    def from_corpus(cls, corpus: Corpus, timing: Timing, split: str, config: EvaluateConfig) -> AnswerJudge:
        """Prompts and reference music from ``split`` of ``corpus`` (features scaled by its own scaler on
        the linear scale, evaluation's units).

        Raises:
            DataError: the split has no block long enough for a prompt, a window or the longest lag.
        """
        dt = corpus.dt_modelled
        scaler = corpus.scaler.linear
        segments = [r.astype(np.float64) for r in corpus.segments(split, 1.0, scaler)]
        try:
            prompts = draw_prompts(segments, config, dt, timing.hop_s, split)
        except DataError as exc:
            raise DataError(f"judging answers on the {split} split: {exc}") from exc
        music = [features_of(r, dt) for r in segments]
        window, reference = reference_music(music, config, timing.hop_s, split)
        training = [features_of(r, dt).astype(np.float64) for r in corpus.segments("train", 1.0, scaler)]
        return cls(prompts, reference, training, timing, config, window)

    def judge(self, engine) -> dict[str, float]:
        """The engine's answers (at ``config``'s temperatures): ``realism`` and ``acf`` (MMD²) and
        their sum, ``score`` (lower is better)."""
        engine.use_temperatures(self.config)
        answers = answer_all(("model",), self.prompts, self.timing, self.training, None, self.config, engine)["model"]
        values = score_answers(answers, self.prompts, self.reference, self.training, self.config, self.window)
        out = {key: _mmd_estimate(values[key]) for key in ("realism_mmd2", "acf_mmd2")}
        return {"realism": out["realism_mmd2"], "acf": out["acf_mmd2"], "score": out["realism_mmd2"] + out["acf_mmd2"]}


def _mmd_estimate(usable_blocks: tuple[list[int], measures.MMDBlocks | None]) -> float:
    """An MMD² measure's estimate over every prompt with descriptors (NaN when none had any)."""
    usable, blocks = usable_blocks
    return float(blocks.mmd2(np.ones((1, len(usable))))[0]) if blocks is not None else float("nan")


#: the measures on which real music is the standard, so that its own verdicts against the baselines bound the model's
SHAPE_MEASURES = ("realism_mmd2", "steps_mmd2", "acf_mmd2")


def summarise(
    per_prompt: dict[str, dict[str, Any]], n_prompts: int, config: EvaluateConfig
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Means with bootstrap intervals per system; per baseline the model's verdict on each measure;
    and per baseline the verdict of :data:`REFERENCE` (real music) on each of :data:`SHAPE_MEASURES`,
    from the same resampled prompts: where real music does not beat a baseline, these prompts
    cannot show any answer beating it."""
    counts = measures.bootstrap_counts(n_prompts, config.n_bootstrap, np.random.default_rng(config.seed + 2))
    samples: dict[str, dict[str, np.ndarray]] = {}
    summary: dict[str, Any] = {}
    for system, values in per_prompt.items():
        s: dict[str, np.ndarray] = {}
        entry: dict[str, Any] = {"energy_score": {}}
        for h, scores in values["energy_score"].items():
            s[f"energy_score@{h}"] = measures.weighted_means(scores, counts)
            entry["energy_score"][h] = _interval(
                np.nanmean(scores) if np.isfinite(scores).any() else np.nan, s[f"energy_score@{h}"], scores
            )
        _mmd_entry(values["realism_mmd2"], counts, "realism_mmd2", s, entry)
        _mmd_entry(values["steps_mmd2"], counts, "steps_mmd2", s, entry)
        _mmd_entry(values["acf_mmd2"], counts, "acf_mmd2", s, entry)
        own, swapped = values["conditioning"]
        mean_own, mean_swapped = measures.weighted_means(own, counts), measures.weighted_means(swapped, counts)
        skill = 1.0 - mean_own / mean_swapped
        point = 1.0 - np.nanmean(own) / np.nanmean(swapped) if np.isfinite(own).any() else np.nan
        low, high = measures.percentile_interval(skill)
        entry["conditioning"] = {
            "skill": float(point),
            "low": low,
            "high": high,
            "n": int(np.isfinite(own).sum()),
            "depends_on_prompt": bool(np.isfinite(low) and low > 0),
        }
        novelty = values["novelty"][np.isfinite(values["novelty"])]
        entry["novelty"] = {
            "median_distance": float(np.median(novelty)) if novelty.size else None,
            "copied_fraction": float(np.mean(novelty < config.copy_threshold)) if novelty.size else None,
            "copy_threshold": config.copy_threshold,
        }
        summary[system] = entry
        samples[system] = s
    baselines_ = [system for system in per_prompt if system not in ("model", REFERENCE)]
    verdicts: dict[str, Any] = {}
    if "model" in samples:
        for system in baselines_:
            row = _verdicts(samples["model"], samples[system], list(samples["model"]))
            row["conditioning"] = (
                "beats"
                if summary["model"]["conditioning"]["depends_on_prompt"] and not summary[system]["conditioning"]["depends_on_prompt"]
                else "ties"
            )
            verdicts[system] = row
    reference_verdicts = (
        {system: _verdicts(samples[REFERENCE], samples[system], SHAPE_MEASURES) for system in baselines_} if REFERENCE in samples else {}
    )
    return summary, verdicts, reference_verdicts


def _verdicts(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray], keys: Sequence[str]) -> dict[str, str]:
    """Per measure of ``keys`` that both have, the verdict on the bootstrap samples of ``ours - theirs``."""
    return {key: measures.verdict(ours[key] - theirs[key]) for key in keys if key in ours and key in theirs}


def _mmd_entry(
    usable_blocks: tuple[list[int], measures.MMDBlocks | None], counts: np.ndarray, key: str, samples: dict, entry: dict
) -> None:
    """An MMD^2 measure's bootstrap samples (into ``samples[key]``) and estimate with its interval
    (``entry[key]``); nothing when no prompt's answers had descriptors.

    A resample repeats prompts, and each repeat pairs an answer with itself in MMD^2's within
    term: the resampled values sit above the estimate (with 2 profiles per prompt, whole
    intervals did). Shifted back by that bias, they centre on it."""
    usable, blocks = usable_blocks
    if blocks is None:
        return
    point, resampled = _mmd_estimate(usable_blocks), blocks.mmd2(counts[:, usable])
    samples[key] = resampled - (np.nanmean(resampled) - point)
    entry[key] = _interval(point, samples[key], None)


def _interval(point: float, samples: np.ndarray, values: np.ndarray | None) -> dict[str, Any]:
    low, high = measures.percentile_interval(samples)
    n = int(np.isfinite(values).sum()) if values is not None else None
    return {"mean": None if not np.isfinite(point) else float(point), "low": low, "high": high, "n": n}


#: the file an evaluation writes beside its figures
REPORT_FILE = "report.json"


@dataclass(frozen=True)
class EvaluationReport:
    """An evaluation: what ``evaluate`` returns and ``report.json`` holds (:meth:`write` writes it,
    :func:`read_evaluation_report` reads it back).

    ``teacher_forced``: the NLL of the model and the linear baselines over the test split (per step
    and per dimension, the best baseline and the gain over it, in nats per step); ``free_running``:
    per system, every measure with its mean and bootstrap interval; ``verdicts``: per baseline and
    measure, whether the model "beats", "ties" or "loses"; ``reference_verdicts``: the same for real
    music from another passage on realism and dynamics (where it does not beat a baseline, no answer
    can be shown to); ``sentences``: the same in words (the teacher-forced verdict, the
    :func:`headline`, the model's ties beside real music's (:func:`ties_sentence`), one per baseline). The rest says what was
    evaluated: the model folder, the settings, features, timing, the prompts (test block, start
    and horizon in seconds), the realism window in frames and the VAR order chosen.
    """

    model: str
    settings: dict[str, Any]
    features: list[str]
    timing: dict[str, Any]
    n_prompts: int
    prompts: list[dict[str, Any]]
    realism_window_frames: int
    var_order: int | None
    teacher_forced: dict[str, Any]
    free_running: dict[str, Any]
    verdicts: dict[str, dict[str, str]]
    reference_verdicts: dict[str, dict[str, str]] = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        """From :meth:`to_dict`'s fields (a report written before ``reference_verdicts`` gets none)."""
        optional = {"reference_verdicts"}
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data or f.name not in optional})

    def write(self, folder: Path | str) -> Path:
        """``folder/report.json`` (atomically, non-finite numbers as null); returns its path."""
        path = Path(folder) / REPORT_FILE
        write_json_atomic(path, self.to_dict())
        return path


def read_evaluation_report(path: Path | str) -> EvaluationReport:
    """A ``report.json`` written by :meth:`EvaluationReport.write`.

    Raises:
        DataError: unreadable, not JSON, or lacking a field (named).
    """
    try:
        return EvaluationReport.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the evaluation report ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path}: not an evaluation report (no {exc})") from exc


def evaluate(
    trained: TrainedModel,
    corpus: Corpus,
    config: EvaluateConfig,
    out_dir: Path | str | None = None,
    on_prompt: Callable[[], None] | None = None,
    systems: Sequence[str] = SYSTEMS,
) -> EvaluationReport:
    """The whole report (see the module docstring) on ``trained`` (:func:`~antiphon.model.directory.load_model`);
    with ``out_dir``, also report.json and the figures.

    ``systems`` are the ones answered and scored ("model" first; the optimizer study asks for the
    model alone, as the baselines do not depend on how it was trained).

    Raises:
        DataError: the model and the corpus have different features, no test split, or test blocks
            shorter than a prompt and a lead time.
    """
    if not systems or systems[0] != "model" or set(systems) - set(SYSTEMS):
        raise ValueError(f"systems must start with 'model' and be among {', '.join(SYSTEMS)}, got {list(systems)}")
    model_dir = trained.info.folder
    engine = trained.engine()
    engine.use_temperatures(config)
    info = engine.info
    names = info.feature_names
    if tuple(corpus.features) != tuple(names):
        raise DataError(
            f"the model in {model_dir} uses {len(names)} features ({', '.join(names[:4])}...) and the corpus "
            f"{len(corpus.features)} ({', '.join(corpus.features[:4])}...): evaluate needs the same list"
        )
    if corpus.dt_modelled != info.timing.dt_modelled:
        corpus = _with_timing(corpus, info.timing.dt_modelled)
    dt_modelled, hop = info.timing.dt_modelled, info.timing.hop_s
    # free-running, every model is judged on the linear scale (a model on a log scale too)
    scaler = info.scaler.linear
    prompts = draw_prompts([r.astype(np.float64) for r in corpus.segments("test", 1.0, scaler)], config, dt_modelled, hop)
    tf = teacher_forced(trained.network, info, corpus, config)

    def feature_rows(split: str) -> list[np.ndarray]:
        return [features_of(rows, dt_modelled).astype(np.float64) for rows in corpus.segments(split, 1.0, scaler)]

    training, held_out = feature_rows("train"), feature_rows("validation")
    real_music = held_out if config.reference == "validation" else feature_rows("test")
    window, reference = reference_music(real_music, config, hop, config.reference)
    var = linear.choose_var(training, held_out, config.var_max_order)[0] if "var" in systems else None
    answers = answer_all(systems, prompts, info.timing, training, var, config, engine, on_prompt)
    per_prompt = {s: score_answers(a, prompts, reference, training, config, window) for s, a in answers.items()}
    summary, verdicts, reference_verdicts = summarise(per_prompt, len(prompts), config)
    report = EvaluationReport(
        model=str(model_dir),
        settings=to_dict(config),
        features=list(names),
        timing=info.timing.to_dict(),
        n_prompts=len(prompts),
        prompts=[{"block": p.segment, "start_s": p.start_s, "future_s": float(p.future_s[-1])} for p in prompts],
        realism_window_frames=window,
        var_order=None if var is None else var.order,
        teacher_forced=tf,
        free_running=summary,
        verdicts=verdicts,
        reference_verdicts=reference_verdicts,
    )
    report = dataclasses.replace(report, sentences=sentences(report))
    if out_dir is not None:
        report.write(out_dir)
        _figures(Path(out_dir), report, prompts, answers, names, config)
    return report


def _with_timing(corpus: Corpus, dt_modelled: bool) -> Corpus:
    return dataclasses.replace(corpus, config=dataclasses.replace(corpus.config, timing="modelled" if dt_modelled else "constant"))


#: baselines built from the real future: on the energy score they know what no forecast can
#: (tests/evaluation/test_measures.py shows the shuffled future beating the true predictive at 1 s)
ORACLES = ("shuffled_real",)
#: how a verdict's measure is named in sentences
LABELS = {"realism_mmd2": "realism", "steps_mmd2": "step sizes", "acf_mmd2": "autocorrelation", "conditioning": "conditioning"}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("energy_score@", "energy score at ") + (" s" if key.startswith("energy") else ""))


def _value(entry: dict[str, Any], key: str) -> float | None:
    """A system's mean on the measure a verdict names (conditioning: its skill)."""
    if key.startswith("energy_score@"):
        found = entry["energy_score"].get(key.split("@", 1)[1])
    else:
        found = entry.get(key)
    if not found:
        return None
    return found.get("skill") if key == "conditioning" else found.get("mean")


def headline(free_running: dict[str, Any], verdicts: dict[str, dict[str, str]]) -> str:
    """One sentence: does the model beat every baseline, and if not, which, where, and by how much
    (from a report's ``free_running`` and ``verdicts``)."""
    runs = free_running
    losses, to_oracle = [], []
    for system, row in verdicts.items():
        for key, word in row.items():
            if word == "loses":
                oracle = system in ORACLES and key.startswith("energy_score@")
                (to_oracle if oracle else losses).append(f"{system} on {_label(key)}{_by(runs, 'model', system, key)}")
    oracle = (
        f"loses to {'; '.join(to_oracle)} -- on the energy score that baseline is an oracle made of the frames that really"
        " followed, which on persistent music beats even the true predictive distribution at 1 s (docs/evaluation.md)"
    )
    if not losses:
        ending = f", except that it {oracle}." if to_oracle else "."
        return f"The model beats or ties every baseline on every free-running measure{ending}"
    ending = f"; it also {oracle}." if to_oracle else "."
    return f"The model does not beat every baseline: it loses to {'; '.join(losses)}{ending}"


def _by(entries: dict[str, Any], ours: str, theirs: str, key: str, note: str = "") -> str:
    """ " (0.081 against 0.068)": the two systems' means on ``key`` (nothing where one lacks it), then ``note``."""
    a, b = _value(entries[ours], key), _value(entries[theirs], key)
    inside = ([] if a is None or b is None else [f"{a:.3f} against {b:.3f}"]) + ([note] if note else [])
    return f" ({', '.join(inside)})" if inside else ""


def ties_sentence(
    free_running: dict[str, Any], verdicts: dict[str, dict[str, str]], reference_verdicts: dict[str, dict[str, str]]
) -> str | None:
    """The baselines and measures the model only ties, with both values, and of the realism and dynamics
    verdicts it does not win, those that real music from another passage does not win either (its
    values beside the baseline's): there these prompts cannot show any answer beating the baseline.
    None where there is none of these. A tie with an oracle on the energy score (:data:`ORACLES`) says
    so; ties on conditioning (baselines whose answers depend on their prompt too) are named last, as
    the measure is whether an answer depends on its prompt at all."""

    def tie(system: str, key: str) -> str:
        oracle = "an oracle there" if system in ORACLES and key.startswith("energy_score@") else ""
        return _label(key) + _by(free_running, "model", system, key, oracle)

    tied = {system: [key for key, word in row.items() if word == "ties" and key != "conditioning"] for system, row in verdicts.items()}
    parts = [f"{system} on " + ", ".join(tie(system, key) for key in keys) for system, keys in tied.items() if keys]
    alike = [system for system, row in verdicts.items() if row.get("conditioning") == "ties"]
    out = [f"It ties {'; '.join(parts)}."] if parts else []
    if alike:
        out.append(f"On conditioning it ties {', '.join(alike)}: their answers depend on their prompt too.")
    bounded = []
    for system, row in verdicts.items():
        keys = [
            k for k in SHAPE_MEASURES if row.get(k) in ("ties", "loses") and reference_verdicts.get(system, {}).get(k) in ("ties", "loses")
        ]
        if keys:
            bounded.append(f"{system} on " + ", ".join(_label(k) + _by(free_running, REFERENCE, system, k) for k in keys))
    if bounded:
        out.append(
            f"Real music from another passage ({REFERENCE}), judged as the answers are, does not beat {'; '.join(bounded)}"
            " either: there these prompts cannot show any answer beating the baseline."
        )
    return " ".join(out) or None


def sentences(report: EvaluationReport) -> list[str]:
    """One plain sentence per baseline: where the model beats, ties and loses it (after the
    teacher-forced verdict, the :func:`headline` and the :func:`ties_sentence`)."""
    out = [report.teacher_forced["words"], headline(report.free_running, report.verdicts)]
    ties = ties_sentence(report.free_running, report.verdicts, report.reference_verdicts)
    out += [ties] if ties else []
    for system, row in report.verdicts.items():
        groups: dict[str, list[str]] = {"beats": [], "ties": [], "loses": []}
        for key, word in row.items():
            groups.setdefault(word, []).append(_label(key))
        parts = [f"{verb} it on {', '.join(items)}" for verb, items in groups.items() if items and verb in ("beats", "ties", "loses")]
        out.append(f"Against {system}, the model " + "; ".join(parts) + ".")
    return out


def _figures(
    out: Path,
    report: EvaluationReport,
    prompts: Sequence[Prompt],
    answers: dict[str, Answers],
    names: tuple[str, ...],
    config: EvaluateConfig,
) -> None:
    from antiphon.render.plots import plot_answer_band, plot_measures, save_figure

    shown = [n for n in config.plot_features if n in names] or list(names[:4])
    first = prompts[0]
    model = answers["model"]
    save_figure(plot_answer_band(model.times[0], model.values[0], first.future_s, first.future, names, shown), out / "answers.png")
    save_figure(plot_measures(report.free_running), out / "measures.png")
