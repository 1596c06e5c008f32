"""The frame format's one home, autograder/sandbox/wire.py: written and read back."""
import os

import numpy as np

from autograder.sandbox import wire


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


def test_arrays_of_every_number_type_and_byte_order_come_back_equal_and_writable():
    for array in (np.arange(6, dtype=">i4").reshape(2, 3), np.array([True, False]), np.ones((2, 0)),
                  np.arange(5, dtype=np.uint8), np.linspace(0, 1, 7, dtype=np.float32), np.asfortranarray(np.eye(3))):
        back = wire.unpack(wire.pack(array)[wire.HEADER_BYTES:])
        assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
        back[...] = 0  # a copy: the student process may change what it was given


def tampered(array, field, value):
    """A frame holding ``array`` whose array descriptor says ``field`` = ``value``."""
    import json
    import struct

    payload = wire.pack(array)[wire.HEADER_BYTES:]
    (length,) = struct.unpack(">I", payload[:4])
    header = json.loads(payload[4:4 + length])
    header["body"]["nd"][{"dtype": 1, "shape": 2, "index": 0}[field]] = value
    new = json.dumps(header).encode()
    return struct.pack(">I", len(new)) + new + payload[4 + length:]


def test_an_array_that_is_not_plain_numbers_or_does_not_fit_its_bytes_is_refused():
    import pytest

    array = np.arange(6.0).reshape(2, 3)
    for field, value in (("dtype", "|O"), ("dtype", "[('a', '<f8')]"), ("dtype", "<U2"), ("dtype", "<c16"),
                         ("dtype", 8), ("shape", [3, 3]), ("shape", [-2, -3]), ("shape", [2, "3"]),
                         ("shape", [True, 6]), ("index", 1), ("index", -1)):
        with pytest.raises(wire.WireError):
            wire.unpack(tampered(array, field, value))
