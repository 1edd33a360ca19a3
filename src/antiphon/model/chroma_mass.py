"""Holding an answer's chroma to its prompt's contrast: the weaker pitch classes of the frames played
kept no stronger, together, than in what was heard.

An answer's chroma blurs as it goes: on the song held out of the demo's training, the 2nd to 6th
strongest classes of the frames played average 0.61, 0.43, 0.29, 0.22 and 0.17 of the strongest in
the first frames, as the music's do (0.62, 0.45, 0.27, 0.20, 0.15), and 0.67, 0.53, 0.44, 0.36 and
0.31 from 2 s on, so that answers at 5 s are nearer each other, and further from what followed,
than real frames are (docs/model.md, round 15). Sharpening the course fed back made the answers'
dynamics worse; scaling the frames played is what the measures reward.

Every frame's *rest mass* is the sum of its chroma classes below the strongest (a max-normalised
chroma's sum, less 1). The engine keeps two running means of it, time constant
:data:`CHROMA_MASS_S`, in its memory buffer (so snapshots keep them): of the sounding frames heard,
and of the sounding frames the answer draws to play (begun again after every frame heard). Where
the answer's is above the heard one, every class of the frame played but the strongest is
multiplied by their ratio, kept within each class's sounding range where the model has one. A
ratio of running means, not each frame's own: scaling each frame by its own mass varied the scale
from frame to frame, and the answers' chroma lost autocorrelation. It only ever lowers the weak
classes: an answer sharper than its prompt is left as it is.

Written as Numba kernels: both run on the real-time path, the first on every frame heard, the
second on every frame played.
"""

from __future__ import annotations

import math

from antiphon.model.compiled import njit

#: time constant, s, of the running rest masses (of the frames heard and of the answer's frames played)
CHROMA_MASS_S = 1.0
#: the slots :func:`hear` and :func:`hold` keep at ``memory[at:]``: whether a frame was heard, the heard mass,
#: whether the answer has played a sounding frame, the answer's mass
SLOTS = 4


def fraction(hop_s: float, time_constant_s: float = CHROMA_MASS_S) -> float:
    """The running means' weight of each new frame: 1 - exp(-hop / time constant) (0.0115 at the analysis hop)."""
    return -math.expm1(-hop_s / time_constant_s)


@njit(cache=True, nogil=True)
def rest_mass(frame, start, stop):
    """The sum of the chroma classes at ``frame[start:stop]`` below the strongest; -1 for a silent chroma (all 0)."""
    strongest, total = 0.0, 0.0
    for j in range(start, stop):
        strongest = max(strongest, frame[j])
        total += frame[j]
    return total - strongest if strongest > 0.0 else -1.0


@njit(cache=True, nogil=True)
def hear(memory, at, frame, start, stop, weight):
    """A frame heard (instrument units): add its rest mass to the heard running mean at ``memory[at:]`` (a
    silent frame adds nothing), and begin the answer's again."""
    mass = rest_mass(frame, start, stop)
    if mass >= 0.0:
        if memory[at] == 0.0:
            memory[at + 1] = mass
            memory[at] = 1.0
        else:
            memory[at + 1] += weight * (mass - memory[at + 1])
    memory[at + 2] = 0.0


@njit(cache=True, nogil=True)
def hear_rows(memory, at, chroma, weight):
    """:func:`hear` for each row of ``chroma`` (N, 12), instrument units, in order."""
    for i in range(chroma.shape[0]):
        hear(memory, at, chroma[i], 0, chroma.shape[1], weight)


@njit(cache=True, nogil=True)
def hold(memory, at, frame, start, stop, weight, low):
    """A sounding frame to play (instrument units, its chroma at ``frame[start:stop]`` max-normalised): add its
    rest mass to the answer's running mean, and where that is above the heard one, scale every class but the
    strongest down by their ratio in place, each kept at or above ``low`` (its sounding minimum; empty: none).
    Returns the scale (1: unchanged)."""
    mass = rest_mass(frame, start, stop)
    if mass < 0.0:
        return 1.0
    if memory[at + 2] == 0.0:
        memory[at + 3] = mass
        memory[at + 2] = 1.0
    else:
        memory[at + 3] += weight * (mass - memory[at + 3])
    if memory[at] == 0.0 or memory[at + 3] <= memory[at + 1]:
        return 1.0
    scale = memory[at + 1] / memory[at + 3]
    best = start
    for j in range(start, stop):
        if frame[j] > frame[best]:
            best = j
    for j in range(start, stop):
        if j != best:
            value = frame[j] * scale
            frame[j] = max(value, low[j - start]) if low.shape[0] else value
    return scale
