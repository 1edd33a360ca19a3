"""Outgoing OSC messages: the fast float encoder writes python-osc's bytes exactly."""

from __future__ import annotations

import numpy as np
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from antiphon.realtime.osc import float_datagram, osc_datagram


def _built(address: str, values: list) -> bytes:
    builder = OscMessageBuilder(address=address)
    for value in values:
        builder.add_arg(value, OscMessageBuilder.ARG_TYPE_FLOAT if isinstance(value, float) else None)
    return builder.build().dgram


def test_float_datagram_is_python_oscs_encoding():
    values = np.random.default_rng(0).normal(size=20).tolist()
    for address in ("/antiphon/prediction", "/a", "/abc", "/abcd"):  # every padding of the address
        for n in (0, 1, 3, 20):
            assert float_datagram(address, values[:n]) == _built(address, values[:n]), (address, n)
    parsed = OscMessage(float_datagram("/antiphon/prediction", values))
    np.testing.assert_allclose(parsed.params, np.float32(values))


def test_mixed_arguments_take_python_oscs_builder():
    datagram = osc_datagram("/antiphon/status", ["frames_in", 3, "mode", "solo", 0.5])
    assert datagram == _built("/antiphon/status", ["frames_in", 3, "mode", "solo", 0.5])
    assert OscMessage(datagram).params == ["frames_in", 3, "mode", "solo", 0.5]
