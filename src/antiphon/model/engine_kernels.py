"""The real-time engine's step as compiled loops (Numba): one call to feed a frame, one to draw the next.

Why hand-written loops rather than NumPy: at the engine's sizes (size s: a 256 x 105 and a
256 x 129 product) a NumPy call costs about a microsecond whatever it multiplies, and a step of
NumPy calls needs about forty of them, so it took 48 µs of which the arithmetic is a few; on this
2-core machine, whose speed halves for minutes at a time, its p99 crossed the 100 µs budget
(the README's real-time figures). Here a feed and a draw are one call each and the step is the arithmetic.

Layout (see :class:`antiphon.model.engine.Engine`): ``memory`` is one float32 buffer, the state
vector ``[x | h_0 | 1 | h_1 | 1 | ...]`` (S values) followed by each layer's gates and cell
``[o, i, f, g, c]`` (5 H) and, where the model sees an activity input, its running values
(2 D + 1), then, where it has an onset clock, the clock's (D + 4). Layer ``l`` reads ``n_reads`` consecutive state values from ``read_start`` and writes its output h at ``hidden_start``; its weights are stored transposed
(``n_reads`` rows of 4 H, bias and scale factor folded in) at ``weight_offset`` of one flat array,
so each product is a sum of scaled rows, four at a time: every gate accumulates in its own lane,
in the same order every step (deterministic), and LLVM vectorises it without reassociating sums.
The head's weights are transposed the same way.

All arithmetic is single precision, as the torch model computes. The gates' sigmoids and tanhs
are a rational approximation (:func:`tanh`) rather than libm's: 640 calls a step cost 8 µs
there, and a polynomial vectorises.
"""

from __future__ import annotations

import math

import numpy as np

from antiphon.model.compiled import njit
from antiphon.model.onset import onset_update


@njit(cache=True, nogil=True)
def advance(memory, state_size, n_units, weights, layers, frame_size, level_decay, activity, onset, fed):
    """One LSTM step on the input row already in ``memory[:frame_size]``.

    ``layers`` (L, 4) int64: per layer, where its weights start in ``weights``, where its reads
    start in the state, how many it reads, and where its output h goes in the state.

    ``level_decay`` in (0, 1): the row is followed by its running level (``memory[frame_size:2
    frame_size]``), updated first as level = (1 - a) row + a level, or set to the row when nothing
    was ``fed`` since the reset; a negative ``level_decay``: no level. ``activity`` (6,) float64:
    see :func:`update_activity` (a negative decay: no activity). ``onset`` (7,) float64: see
    :func:`update_onset` (a cap of 0: no onset clock).
    """
    if level_decay >= 0.0:
        for j in range(frame_size):
            if fed:
                memory[frame_size + j] = (1.0 - level_decay) * memory[j] + level_decay * memory[frame_size + j]
            else:
                memory[frame_size + j] = memory[j]
    if activity[0] >= 0.0:
        update_activity(memory, frame_size, activity, fed)
    if onset[0] > 0.0:
        update_onset(memory, frame_size, onset, fed)
    h = n_units
    for layer in range(layers.shape[0]):
        w0, r0, n_reads, out = layers[layer, 0], layers[layer, 1], layers[layer, 2], layers[layer, 3]
        g = memory[state_size + 5 * h * layer : state_size + 5 * h * (layer + 1)]  # [o, i, f, g, c]
        product(weights[w0 : w0 + n_reads * 4 * h].reshape((n_reads, 4 * h)), memory[r0 : r0 + n_reads], g[: 4 * h])
        cell_update(g, memory[out : out + h])


@njit(cache=True, nogil=True)
def update_activity(memory, frame_size, activity, fed):
    """The input row's activity (:mod:`antiphon.model.level`) updated with the row in ``memory[:frame_size]``.

    ``activity`` holds the decay a, where the activity inputs start in the state, where its
    running values start in ``memory`` (after the gates: the previous row, the running mean of
    the absolute steps, and the running mean's total weight, 2 D + 1 values), the model's scale
    factor s, and the input's floor and offset (:func:`antiphon.model.level.activity_input`: passed
    in, not read as globals, which Numba's cache would keep after they changed). The rows in
    memory are unscaled and the layer's weights carry s, so the input written is
    activity_input(s mean) / s, as training computes it on the scaled rows. Before anything was
    ``fed`` since the reset a row has no step: its mean is 0.
    """
    decay, inputs, running, scale = activity[0], int(activity[1]), int(activity[2]), activity[3]
    floor, offset = activity[4], activity[5]
    total = running + 2 * frame_size  # the running mean's weight, 1 - a^t: it divides out the zero start
    weight = decay * memory[total] + (1.0 - decay) if fed else 0.0
    memory[total] = weight
    for j in range(frame_size):
        previous, mean = running + j, running + frame_size + j
        memory[mean] = decay * memory[mean] + (1.0 - decay) * abs(memory[j] - memory[previous]) if fed else 0.0
        steps = memory[mean] / weight if fed else 0.0
        memory[inputs + j] = (math.log10(scale * steps + floor) + offset) / scale
        memory[previous] = memory[j]


@njit(cache=True, nogil=True)
def update_onset(memory, frame_size, onset, fed):
    """The input row's onset clock (:mod:`antiphon.model.onset`) updated with the row in ``memory[:frame_size]``.

    ``onset`` holds the clock's settings (:func:`~antiphon.model.onset.onset_settings`: the cap, the
    ratio, the gap, the running mean's decay), where its two inputs start in the state, where its
    running values start in ``memory`` (frame_size + 4 values, after the gates and the activity's), and
    the model's scale factor s. The rows in memory are unscaled and the layer's weights carry s, so the
    inputs written are the clock's over s. Training computes the same step on the scaled rows: its
    onsets are a ratio of steps, the same at any scale.
    """
    inputs, running = int(onset[4]), int(onset[5])
    values = memory[running : running + frame_size + 4]
    onset_update(memory[:frame_size], values, fed, onset[:4])
    memory[inputs] = values[frame_size + 2] / (onset[0] * onset[6])
    memory[inputs + 1] = values[frame_size + 3] / (onset[0] * onset[6])


@njit(cache=True, nogil=True, fastmath=True)
def cell_update(g, out):
    """An LSTM cell's update from its gates' pre-activations: ``g`` (5 H,) is [o, i, f, g, c];
    o, i, f become their sigmoids, g its tanh, c the new cell (i g + f c); ``out`` (H,) gets the
    output o tanh(c)."""
    h, half = out.shape[0], np.float32(0.5)
    for j in range(3 * h):
        g[j] = half + half * tanh(half * g[j])  # sigmoid(x) = (1 + tanh(x / 2)) / 2
    for j in range(3 * h, 4 * h):
        g[j] = tanh(g[j])
    for j in range(h):
        g[4 * h + j] = g[h + j] * g[3 * h + j] + g[2 * h + j] * g[4 * h + j]
    for j in range(h):
        out[j] = g[j] * tanh(g[4 * h + j])


@njit(cache=True, inline="always", fastmath=True)
def tanh(x):
    """tanh of a float32, within 4e-7 of the exact value: Eigen's rational approximation
    (``generic_fast_tanh_float``, a 13/6 odd/even polynomial ratio, exact to float32 beyond |x| = 7.9)."""
    x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = x2 * p + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = x2 * q + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(cache=True, nogil=True)
def product(weights_t, x, out):
    """out (M,) = weights_t.T @ x for weights_t (N, M), x (N,): the rows scaled and summed, four at a time."""
    out[:] = 0.0
    n, m = weights_t.shape
    c = 0
    while c + 4 <= n:
        x0, x1, x2, x3 = x[c], x[c + 1], x[c + 2], x[c + 3]
        a, b, d, e = weights_t[c], weights_t[c + 1], weights_t[c + 2], weights_t[c + 3]
        for j in range(m):
            out[j] += a[j] * x0 + b[j] * x1 + d[j] * x2 + e[j] * x3
        c += 4
    while c < n:
        x0, a = x[c], weights_t[c]
        for j in range(m):
            out[j] += a[j] * x0
        c += 1


@njit(cache=True, nogil=True)
def feed(
    features,
    dt_s,
    offset,
    minimum,
    inv_span,
    constant,
    memory,
    state_size,
    n_units,
    weights,
    layers,
    frame_size,
    level_decay,
    activity,
    onset,
    fed,
):
    """Scale ``features`` (F,) in instrument units into the input row (to [0, 1], clipped; constant
    features 0), ``dt_s`` first where the model has a time step (``offset`` 1), and :func:`advance`."""
    for j in range(features.shape[0]):
        value = 0.0 if constant[j] else min(max((features[j] - minimum[j]) * inv_span[j], 0.0), 1.0)
        memory[offset + j] = value
    if offset:
        memory[0] = dt_s
    advance(memory, state_size, n_units, weights, layers, frame_size, level_decay, activity, onset, fed)


@njit(cache=True, nogil=True)
def to_instrument(row, offset, clip, span, minimum, chroma_start, chroma_stop, chroma_top, chroma_in_range, silence, to_silence, out):
    """A normalised model row (D,) -> a frame of the format (F,) in instrument units, written to ``out``.

    Features (the row after its ``offset`` dt columns) are clipped to [0, 1] unless ``clip`` is
    False, and scaled back; the chroma (``chroma_start:chroma_stop``, empty for none) becomes the
    nearest max-normalised chroma, as the analysis writes it: classes clipped to [0, ``chroma_top``] (unless
    ``chroma_in_range`` says they are), the largest raised to ``chroma_top``; all-zero chroma, a silent
    frame's, stays zero. ``chroma_top`` is 1 on the scaler's scale: 1, or ln(1 + 1 / knee) on the chroma's
    log scale (``corpus.log_chroma_knee``).

    The format has one other kind of frame, silence (every feature 0, as the analyser and the
    corpus's quiet rule write it). With ``to_silence``, a row nearer the silent frame
    (``silence`` (F,), normalised) than to its projection above (or as near: the silent frame
    itself), by Euclidean distance over the
    normalised features (clipped to [0, 1]), becomes silence: every feature 0. Without it no
    answer paused: a drawn chroma is almost never all at or below zero, so the rule above raised a
    class to 1, and a model prompted with a pause answered a full-strength pitch class.

    Not a division by the largest class: an answer is fed back, and a model's sampled chroma peaks
    a little under 1 (its means regress), so dividing raised every other class with it, frame
    after frame, until the answer's chroma was flat (all classes near 0.6 within a second, where
    the music's average 0.2; docs/model.md, "Ablation").

    Returns whether the row became silence (or was it).
    """
    for j in range(out.shape[0]):
        value = row[offset + j]
        if clip:
            value = min(max(value, 0.0), 1.0)
        out[j] = value * span[j] + minimum[j]
    if chroma_stop > chroma_start:
        best = chroma_start
        for j in range(chroma_start, chroma_stop):
            if not chroma_in_range:
                out[j] = min(max(out[j], 0.0), chroma_top)
            if out[j] > out[best]:
                best = j
        if out[best] > 0.0:
            out[best] = chroma_top
    if to_silence:
        to_music, to_pause = 0.0, 0.0
        for j in range(out.shape[0]):
            value = min(max(row[offset + j], 0.0), 1.0)
            to_pause += (value - silence[j]) ** 2
            if span[j] > 0.0:
                to_music += ((out[j] - minimum[j]) / span[j] - value) ** 2
        if to_pause <= to_music:
            out[:] = 0.0
            return True
    return False


@njit(cache=True, nogil=True)
def derive(frame, plan):
    """Make ``frame`` (F,), on the scaler's scale (instrument units, a log scale where it warps), obey the rules of
    ``plan`` (:attr:`~antiphon.data.scaler.MinMaxScaler.derivation_plan`, one row each: kind, source and target
    columns, gain, offset, the target's bounds, both knees), in order, in place, unless it is silent (every value 0):

    - a sounding range (kind 0): the target held within its bounds, those of the training frames that sound;
    - an affine identity (kind 1): the target from its source, a target that would leave its bounds held there and
      its source moved to match;
    - a moment bound (kind 2): the target raised to offset + gain * source^2 where it is under it (Pearson's
      kurtosis >= 1 + skewness^2), and no higher than its upper bound.

    Compiled, as the rest of the step: in Python the two calls of a step cost 10 us of its 27."""
    sounding = False
    for value in frame:
        if value != 0.0:
            sounding = True
            break
    if not sounding:
        return
    for r in range(plan.shape[0]):
        kind, i, j = plan[r, 0], int(plan[r, 1]), int(plan[r, 2])
        gain, offset, low, high, knee_i, knee_j = plan[r, 3], plan[r, 4], plan[r, 5], plan[r, 6], plan[r, 7], plan[r, 8]
        source = math.expm1(frame[i]) * knee_i if knee_i > 0.0 else frame[i]
        target = math.expm1(frame[j]) * knee_j if knee_j > 0.0 else frame[j]
        if kind == 0.0:
            held = min(max(target, low), high)
        elif kind == 1.0:
            value = gain * source + offset
            held = min(max(value, low), high)
            if held != value and gain != 0.0:
                source = (held - offset) / gain
                frame[i] = math.log1p(source / knee_i) if knee_i > 0.0 else source
        else:
            held = min(max(target, offset + gain * source * source), high)
        if held != target:
            frame[j] = math.log1p(held / knee_j) if knee_j > 0.0 else held


@njit(cache=True, nogil=True)
def pulled(value, delta, clip, minimum, span):
    """``value`` moved by ``delta``, within the training range [minimum, minimum + span] where ``clip`` says (the
    anchor is stored in single precision, and the frame played moves by the course's amount, not toward the anchor)."""
    value += delta
    return min(max(value, minimum), minimum + span) if clip else value


@njit(cache=True, nogil=True)
def draw(
    memory,
    state_size,
    logit_weights_t,
    component_weights_t,
    inverse_pi_temperature,
    uniform,
    noise,
    sigma_scale,
    played_scale,
    split,
    sigma_floor,
    residual,
    offset,
    clip,
    span,
    minimum,
    chroma_start,
    chroma_stop,
    chroma_top,
    chroma_in_range,
    silence,
    to_silence,
    plan,
    pull,
    register_at,
    anchor_at,
    out,
    played,
):
    """Draw the next frame from the mixture the state gives: write the frame to feed back (F,) in
    instrument units to ``out`` and the frame to play to ``played`` (:func:`to_instrument`, then
    :func:`derive` with ``plan``), and return its time step (the model's normalised dt column; 0 when it has none).

    The component is the one ``uniform`` selects under softmax(logits / pi temperature), as
    :func:`antiphon.model.sampling.choose_component`; its draw is mean + sigma (elu + 1 + floor)
    x ``noise`` (D standard normals) x ``sigma_scale`` (the temperatures, over the scale factor:
    the means' weights are already unscaled), with the frame fed added to the mean where the
    model is ``residual``. With ``split`` the frame played is the same component and the same
    noise scaled by ``played_scale`` instead, and silence wherever the frame fed is; without it
    the two are the same frame. Weights are transposed: ``logit_weights_t`` (S, K) and
    ``component_weights_t`` (K, S, 2 D), each component's means (unscaled) then raw sigmas.

    The register pull: where ``pull`` (F,), each feature's fraction per step (0: none), is not all 0,
    a sounding frame fed back moves that fraction of the way from the draw toward the anchor, and the
    frame played by the same amount, before :func:`derive`. The anchor (F values in instrument
    units at ``memory[anchor_at + 1:]``) is the register when the answer began: at the first draw
    after a frame heard (``memory[anchor_at]`` 0, which :meth:`~antiphon.model.engine.Engine.feed`
    sets), it is taken from the normalised row at ``memory[register_at:]`` (the running level, or
    the frame itself for a model without one) and ``memory[anchor_at]`` set to 1.
    """
    state = memory[:state_size]
    n_components, d = logit_weights_t.shape[1], noise.shape[0]
    weights = np.empty(n_components, dtype=np.float32)
    product(logit_weights_t, state, weights)
    top = weights.max()
    total = 0.0
    for k in range(n_components):
        weights[k] = math.exp((weights[k] - top) * inverse_pi_temperature)
        total += weights[k]
    target, cumulative, chosen = uniform * total, 0.0, n_components - 1
    for k in range(n_components):
        cumulative += weights[k]
        if target < cumulative:
            chosen = k
            break
    component = np.empty(2 * d, dtype=np.float32)  # its means, then its raw sigmas
    product(component_weights_t[chosen], state, component)
    row = np.empty(d)
    played_row = np.empty(d)
    for j in range(d):
        mean, raw = component[j], component[d + j]
        if residual:
            mean += state[j]
        sigma = (raw if raw > 0.0 else math.expm1(raw)) + 1.0 + sigma_floor
        row[j] = mean + sigma * noise[j] * sigma_scale[j]
        played_row[j] = mean + sigma * noise[j] * played_scale[j]
    silent = to_instrument(
        row, offset, clip, span, minimum, chroma_start, chroma_stop, chroma_top, chroma_in_range, silence, to_silence, out
    )
    f = out.shape[0]
    delta = np.zeros(f)
    if pull.max() > 0.0:
        if memory[anchor_at] == 0.0:  # the first draw since a frame was heard: the register is the anchor
            for j in range(f):
                memory[anchor_at + 1 + j] = min(max(memory[register_at + j], 0.0), 1.0) * span[j] + minimum[j]
            memory[anchor_at] = 1.0
        if not silent:
            for j in range(f):
                delta[j] = pull[j] * (memory[anchor_at + 1 + j] - out[j])
                out[j] = pulled(out[j], delta[j], clip, minimum[j], span[j])
    derive(out, plan)
    if not split:
        played[:] = out
    elif silent:
        played[:] = 0.0
    else:
        to_instrument(
            played_row, offset, clip, span, minimum, chroma_start, chroma_stop, chroma_top, chroma_in_range, silence, False, played
        )
        for j in range(f):
            played[j] = pulled(played[j], delta[j], clip, minimum[j], span[j])
        derive(played, plan)
    return row[0] if offset else 0.0
