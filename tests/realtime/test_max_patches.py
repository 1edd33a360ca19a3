"""The Max patches in examples/max: Max cannot run here, so their structure is checked -- every
connection joins existing boxes at existing outlets and inlets, and the data path runs from the
network object to where the answers (or frames) go, with the addresses and ports serve uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from antiphon.config import RealtimeConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "max"


def load(name: str) -> tuple[dict[str, dict], list[tuple[str, int, str, int]]]:
    patcher = json.loads((EXAMPLES / name).read_text())["patcher"]
    boxes = {entry["box"]["id"]: entry["box"] for entry in patcher["boxes"]}
    lines = [(*entry["patchline"]["source"], *entry["patchline"]["destination"]) for entry in patcher["lines"]]
    return boxes, lines


def reachable(lines, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        for source, _, destination, _ in lines:
            if source == here and destination not in seen:
                seen.add(destination)
                todo.append(destination)
    return seen


def box_with(boxes: dict[str, dict], text: str) -> str:
    (found,) = [i for i, b in boxes.items() if b.get("text") == text]
    return found


@pytest.mark.parametrize("name", ["antiphon-listener.maxpat", "antiphon-performer.maxpat"])
def test_every_connection_joins_existing_outlets_and_inlets(name):
    boxes, lines = load(name)
    assert lines
    for source, outlet, destination, inlet in lines:
        assert source in boxes and destination in boxes, (source, destination)
        assert 0 <= outlet < boxes[source]["numoutlets"], (source, outlet)
        assert 0 <= inlet < boxes[destination]["numinlets"], (destination, inlet)
        assert len(boxes[source].get("outlettype", [])) == boxes[source]["numoutlets"]


def test_the_listener_takes_serves_answers_to_a_printer_and_a_sound():
    boxes, lines = load("antiphon-listener.maxpat")
    defaults = RealtimeConfig()
    start = box_with(boxes, f"udpreceive {defaults.send_port}")
    path = reachable(lines, start)
    assert box_with(boxes, f"route {defaults.prediction_address}") in path
    assert box_with(boxes, "print antiphon-answer") in path
    assert {i for i, b in boxes.items() if b["maxclass"] == "ezdac~"} <= path


def test_the_performer_sends_frames_to_serves_port_through_a_gate():
    boxes, lines = load("antiphon-performer.maxpat")
    defaults = RealtimeConfig()
    start = box_with(boxes, "udpreceive 9100")
    path = reachable(lines, start)
    sender = box_with(boxes, f"udpsend {defaults.host} {defaults.port}")
    assert sender in path and box_with(boxes, f"prepend {defaults.frame_address}") in path
    gate = box_with(boxes, "gate 1 1")
    assert (box_with(boxes, f"route {defaults.frame_address}"), 0, gate, 1) in lines  # frames into the gate's data inlet
    toggle = next(i for i, b in boxes.items() if b["maxclass"] == "toggle")
    assert (toggle, 0, gate, 0) in lines  # the toggle opens and closes it
