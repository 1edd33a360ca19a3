"""Interaction modes as a table of routing flags (as IMPSY has them): one entry and one test row per mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from antiphon.config import ModeName


@dataclass(frozen=True)
class Mode:
    """What happens to the performer's frames and when the model plays.

    - ``feed_input``: each received frame updates the model state.
    - ``answer_after_silence``: once ``silence_s`` has passed without a frame, the model plays
      its continuation (feeding itself) until the performer plays again.
    - ``answer_each_frame``: every received frame is answered with one predicted frame.
    - ``play_alone``: the model plays on its own all the time, fed by itself.
    """

    name: str
    feed_input: bool
    answer_after_silence: bool
    answer_each_frame: bool
    play_alone: bool
    summary: str


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("callresponse", True, True, False, False, "answers after a silence, stops when the performer plays (the paper's)"),
        Mode("filter", True, False, True, False, "answers every frame with the model's prediction of the next"),
        Mode("solo", False, False, False, True, "the model plays on its own, fed by itself; input is only logged"),
        Mode("useronly", False, False, False, False, "no answers: input is only logged"),
    )
}
assert tuple(MODES) == get_args(ModeName), "the table and the settings name the same modes"
