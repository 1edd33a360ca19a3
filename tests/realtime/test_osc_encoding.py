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


def test_a_bundle_holds_the_message_and_an_ntp_timetag():
    import struct

    from pythonosc.osc_bundle import OscBundle

    from antiphon.realtime.osc import bundle_datagram, timetag

    assert struct.unpack(">II", timetag(0.0)) == (2_208_988_800, 0)  # 1970 in NTP seconds
    assert struct.unpack(">II", timetag(1.5)) == (2_208_988_801, 2**31)
    message = float_datagram("/antiphon/prediction", [1.0, 2.0])
    datagram = bundle_datagram(message, 1_800_000_000.25)
    assert datagram[:8] == b"#bundle\0"
    assert struct.unpack(">II", datagram[8:16]) == (1_800_000_000 + 2_208_988_800, 2**30)
    assert struct.unpack(">i", datagram[16:20]) == (len(message),) and datagram[20:] == message
    (content,) = OscBundle(datagram)._contents  # python-osc parses it as one message (its own timetag reading differs from liblo's)
    assert content.address == "/antiphon/prediction" and content.params == [1.0, 2.0]
