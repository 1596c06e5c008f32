"""The frame format's one home, autograder/wire.py: written and read back."""
import os

import numpy as np

from autograder import wire


def test_a_frame_is_its_length_then_its_payload():
    frame = wire.pack({"calls": [1, 2.5, "x"]})
    assert wire.frame_size(frame[:wire.HEADER_BYTES]) == len(frame) - wire.HEADER_BYTES
    assert wire.unpack(frame[wire.HEADER_BYTES:]) == {"calls": [1, 2.5, "x"]}


def test_frame_end_waits_for_the_whole_frame():
    frame = wire.pack({"event": "answer"})
    assert wire.frame_end(b"") is None
    assert wire.frame_end(frame[:wire.HEADER_BYTES - 1]) is None
    assert wire.frame_end(frame[:-1]) is None
    assert wire.frame_end(frame) == len(frame)
    assert wire.frame_end(bytearray(frame + frame[:3])) == len(frame)


def test_read_frame_reads_what_write_frame_wrote_then_none_at_the_end():
    read_end, write_end = os.pipe()
    try:
        wire.write_frame(write_end, {"cells": ["a = 1"]})
        wire.write_frame(write_end, {"timeout": 2.0})
        os.close(write_end)
        assert wire.read_frame(read_end) == {"cells": ["a = 1"]}
        assert wire.read_frame(read_end) == {"timeout": 2.0}
        assert wire.read_frame(read_end) is None
    finally:
        os.close(read_end)


def test_arrays_keep_their_shape_across_the_wire_zero_d_included():
    for value in (np.array(0.5), np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3).T, np.zeros((0, 3))):
        back = wire.unpack(wire.pack({"ok": value})[wire.HEADER_BYTES:])["ok"]
        assert back.shape == value.shape and np.array_equal(back, value)
