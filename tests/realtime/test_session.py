"""`serve`'s session over real UDP sockets on loopback: modes, controls, timing, bad input, the log."""

from __future__ import annotations

import itertools
import struct
import time

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from antiphon.data.session_log import read_session_log
from antiphon.realtime.osc import osc_datagram
from tests.realtime.conftest import log_events, status

PREDICTION = "/antiphon/prediction"


def test_call_and_response_end_to_end(live, receiver):
    """Order and causality only (how soon an answer leaves is benchmarks/realtime.py's to measure)."""
    session, performer = live(silence_s=0.15)
    last = performer.frames(30)
    answers = receiver.wait_for(PREDICTION, 12, timeout=10.0)
    assert len(answers) >= 12
    assert answers[0][0] > last + 0.15  # not before the silence threshold
    assert all(len(args) == 3 and all(np.isfinite(args)) for _, _, args in answers)
    events = log_events(session)
    heard = [e for e in events if e.get("kind") == "in"]
    start = next(e for e in events if e.get("kind") == "answer")
    sent = [e for e in events if e.get("kind") == "out"]
    # the answer is planned at the threshold, after the last frame heard, and each frame at its deadline
    assert start["t_ms"] >= heard[-1]["t_ms"] + 150.0 - 1e-3
    assert sent[0]["planned_ms"] == pytest.approx(start["t_ms"], abs=1e-3)
    assert all(b["planned_ms"] > a["planned_ms"] for a, b in itertools.pairwise(sent))
    # what arrived is what the log says was sent, in the same order (float32 on the wire)
    np.testing.assert_allclose([a[2] for a in answers[:10]], [e["values"] for e in sent[:10]], rtol=1e-6)
    # the performer plays again: the receive thread refuses the rest of the answer at once
    performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)
    counters = status(session, receiver, performer)  # answered after the frame: the frame was handled
    assert counters["frames_in"] == 31 and counters["answers"] == 1 and counters["rejected"] == 0
    events = log_events(session)
    resumed = [e for e in events if e.get("kind") == "in"][-1]
    late = [e for e in events if e.get("kind") == "out" and e["t_ms"] > resumed["t_ms"]]
    assert len(late) <= 1  # at most a frame that was already on its way


def test_a_long_answer_ends_at_its_bound_and_the_next_waits_for_the_performer(live, receiver):
    session, performer = live(silence_s=0.05, max_answer_s=0.1)
    performer.frames(5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(e.get("kind") == "answer_end" for e in log_events(session)):
        time.sleep(0.02)
    time.sleep(0.3)  # six silence thresholds: no second answer may start without the performer
    assert status(session, receiver, performer)["answers"] == 1
    events = log_events(session)
    planned = [e["planned_ms"] for e in events if e.get("kind") == "out"]
    hop_ms = 1000 * session.engine.info.timing.hop_s
    assert planned and planned[-1] - planned[0] < 100.0 + hop_ms + 1e-3  # nothing planned past the bound
    (end,) = [e for e in events if e.get("kind") == "answer_end"]
    assert end["answer"] == 1 and end["t_ms"] >= planned[-1]
    performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)  # the performer plays: the next answer follows
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and status(session, receiver, performer)["answers"] < 2:
        time.sleep(0.02)
    assert status(session, receiver, performer)["answers"] == 2


def test_filter_answers_every_frame(live, receiver):
    _session, performer = live(mode="filter", silence_s=5.0)
    for _ in range(10):
        performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)
        time.sleep(0.03)
    assert len(receiver.wait_for(PREDICTION, 10, timeout=3.0)) == 10


def test_solo_plays_without_input(live, receiver):
    session, performer = live(mode="solo")
    assert len(receiver.wait_for(PREDICTION, 10, timeout=5.0)) >= 10
    performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)
    counters = status(session, receiver, performer)
    assert counters["frames_in"] == 1 and counters["mode"] == "solo"


def test_useronly_never_answers(live, receiver):
    session, performer = live(mode="useronly", silence_s=0.05)
    performer.frames(10)
    time.sleep(0.3)
    assert receiver.at(PREDICTION) == []
    assert status(session, receiver, performer)["frames_in"] == 10


def test_control_messages(live, receiver):
    session, performer = live(silence_s=5.0)
    performer.send("/antiphon/pi_temperature", 0.5)
    performer.send("/antiphon/sigma_temperature", 0.0)
    performer.send("/antiphon/played_sigma_temperature", 0.75)
    performer.send("/antiphon/chroma_sigma_temperature", 0.25)
    performer.send("/antiphon/register_pull_s", 0.0)
    performer.send("/antiphon/key_margin", 0.8)
    performer.send("/antiphon/follow_key", 2)  # 0 or 1: rejected
    performer.send("/antiphon/hold_chroma_mass", 3)  # 0 or 1: rejected
    performer.send("/antiphon/mode", "filter")
    status(session, receiver, performer)  # the round trip: every control before it has been applied
    engine = session.engine
    temperatures = (engine.pi_temperature, engine.sigma_temperature, engine.played_sigma_temperature, engine.chroma_sigma_temperature)
    assert (*temperatures, engine.register_pull_s, session.mode.name) == (0.5, 0.0, 0.75, 0.25, 0.0, "filter")
    assert engine.key_margin == pytest.approx(0.8) and session.rejects.counts["wrong_type"] == 2
    performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)
    assert len(receiver.wait_for(PREDICTION, 1)) == 1  # filter mode now
    performer.send("/antiphon/mode", "callresponse")
    performer.send("/antiphon/reset")  # forget the filter-mode frame: nothing to answer yet
    performer.send("/antiphon/silence_s", 0.05)
    status(session, receiver, performer)
    before = len(receiver.at(PREDICTION))
    performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)
    assert len(receiver.wait_for(PREDICTION, before + 1, timeout=4.0)) > before  # long before the old 5 s threshold
    counters = status(session, receiver, performer)
    events = log_events(session)
    (answer,) = [e for e in events if e.get("kind") == "answer"]  # the only answer: to the last frame
    heard = [e for e in events if e.get("kind") == "in"][-1]
    assert answer["t_ms"] - heard["t_ms"] >= 50.0 - 1e-3  # planned at the new threshold, not before it
    kinds = [(e.get("kind"), e.get("name"), e.get("mode")) for e in events]
    assert ("control", "pi_temperature", None) in kinds and ("control", "silence_s", None) in kinds
    assert ("mode", None, "filter") in kinds and ("reset", None, None) in kinds
    assert {"frames_in", "frames_out", "rejected", "late_frames", "send_error_ms_p99", "feed_latency_ms_p50"} <= set(counters)


def _bundle(address: str, values, seconds_ahead: float) -> bytes:
    builder = OscBundleBuilder(time.time() + seconds_ahead)
    message = OscMessageBuilder(address=address)
    for v in values:
        message.add_arg(v)
    builder.add_content(message.build())
    return builder.build().dgram


BAD_INPUT = {
    "malformed": [
        b"",
        bytes(range(64)),
        osc_datagram("/antiphon/frame", [1.0, 2.0, 3.0])[:-6],
        b"/\xff\xfe\x00,f\x00\x00" + struct.pack(">f", 1.0),
    ],
    "wrong_count": [osc_datagram("/antiphon/frame", [1.0, 2.0]), osc_datagram("/antiphon/frame", [])],
    "wrong_type": [osc_datagram("/antiphon/frame", ["a", "b", "c"]), osc_datagram("/antiphon/mode", ["jazz"])],
    "not_finite": [osc_datagram("/antiphon/frame", [float("nan"), 1.0, 2.0]), osc_datagram("/antiphon/frame", [float("inf"), 1.0, 2.0])],
    "wildcard": [osc_datagram("/antiphon/*", [1.0, 2.0, 3.0]), osc_datagram("/*/reset", [])],
    "unknown_address": [osc_datagram("/impsy", [1.0])],
    "future_timetag": [_bundle("/antiphon/frame", [1.0, 2.0, 3.0], 3600.0)],
    "oversize": [osc_datagram("/antiphon/frame", [1.0] * 2500)],
}


def test_bad_input_is_counted_and_the_next_good_frame_is_processed(live, receiver):
    session, performer = live(mode="useronly")
    for packets in BAD_INPUT.values():
        for packet in packets:
            performer.raw(packet)
    performer.raw(_bundle("/antiphon/frame", [1.0, 2.0, 3.0], 0.2))  # near future: taken at once
    performer.send("/antiphon/frame", 1000.0, 2.0, 0.5)
    counters = status(session, receiver, performer)
    for kind, packets in BAD_INPUT.items():
        assert counters[f"rejected_{kind}"] == len(packets), kind
    assert counters["frames_in"] == 2 and counters["rejected"] == sum(map(len, BAD_INPUT.values()))


def test_a_burst_of_5000_frames_is_not_dropped(live, receiver):
    session, performer = live(mode="useronly")
    frame = osc_datagram("/antiphon/frame", [1000.0, 2.0, 0.5])
    for _ in range(5000):
        performer.raw(frame)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and session.stats.frames_in < 5000:
        time.sleep(0.05)
    assert session.stats.frames_in == 5000


def test_the_log_reads_back_as_training_data(live, receiver, tmp_path):
    from antiphon.cli import main

    session, performer = live(silence_s=0.1)
    performer.frames(60)
    receiver.wait_for(PREDICTION, 5)
    session.stop()
    events = log_events(session)
    assert events[0]["format"] == "antiphon-session" and events[0]["features"] == ["SpectralCentroid", "SpectralSkewness", "Chroma01"]
    assert events[-1]["kind"] == "end"
    document = read_session_log(session.log.path)
    assert document.n_frames == 60
    np.testing.assert_allclose(document.features["SpectralCentroid"], 1000.0 + 10 * np.arange(60))
    assert np.all(np.diff(document.times_ms) > 0)  # in the order heard (their spacing is the machine's, not asserted)
    features = '["SpectralCentroid", "SpectralSkewness", "Chroma01"]'
    assert main(["dataset", str(session.log.path), "-o", str(tmp_path / "corpus"), "--set", f"corpus.features={features}"]) == 0
