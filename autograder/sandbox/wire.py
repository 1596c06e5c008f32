"""The message format between the grader and the student process: JSON plus array bytes.

Nothing is ever pickled. A value is encoded as JSON whose arrays are replaced by
``{"nd": [i, dtype, shape]}``: the index of a blob holding the array's bytes in C order, its
dtype (a plain number type such as "<f8", nothing else) and its shape. (Not .npy blobs:
np.save and np.load cost more than the calls themselves on small arrays.)
A frame on a pipe is an 8-byte length (``HEADER_BYTES``, big-endian), then the JSON header,
then the blobs. That framing lives here only: ``frame_size``, ``frame_end`` and ``read_frame``.

This module is copied into the sandbox and runs there too: it needs only the standard
library and NumPy.
"""
import json
import re
import struct

import numpy as np

NUMBER_KINDS = "biuf"  # bool, int, unsigned, float: the only arrays that cross the boundary
NUMBER_DTYPE = re.compile(r"[<>|][biuf](1|2|4|8|16)")  # their dtype strings, byte order first
HEADER_BYTES = 8  # a frame starts with the length of its payload, big-endian


class WireError(Exception):
    """A frame or value that breaks the format; the message says what was wrong."""


def encode_value(value, blobs):
    """JSON-ready form of ``value``; arrays are appended to ``blobs`` as their bytes."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, dict):
        return {"dict": {str(k): encode_value(v, blobs) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [encode_value(v, blobs) for v in value]}
    array = np.asarray(value)
    if array.dtype.kind not in NUMBER_KINDS:
        raise WireError(f"a {type(value).__name__} is not a number or an array of numbers")
    blobs.append(array.tobytes(order="C"))  # 0-d stays 0-d: its shape is []
    return {"nd": [len(blobs) - 1, array.dtype.str, list(array.shape)]}


def decode_value(obj, blobs):
    """Inverse of ``encode_value``, strict: anything unexpected raises WireError."""
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    if not isinstance(obj, dict) or len(obj) != 1:
        raise WireError("malformed value")
    (kind, inner), = obj.items()
    if kind == "dict" and isinstance(inner, dict):
        return {k: decode_value(v, blobs) for k, v in inner.items()}
    if kind in ("list", "tuple") and isinstance(inner, list):
        items = [decode_value(v, blobs) for v in inner]
        return tuple(items) if kind == "tuple" else items
    if kind == "nd" and isinstance(inner, list) and len(inner) == 3:
        return decode_array(*inner, blobs)
    raise WireError("malformed value")


def decode_array(index, dtype, shape, blobs):
    """The array of blob ``index``, checked: a number dtype, a shape of sizes >= 0, and exactly
    as many bytes as they say. A copy, so it is writable like any array."""
    if not (isinstance(index, int) and 0 <= index < len(blobs)):
        raise WireError("malformed value")
    if not isinstance(dtype, str) or not NUMBER_DTYPE.fullmatch(dtype):
        raise WireError(f"array of dtype {str(dtype)[:20]!r} is not numeric")
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise WireError("malformed array shape")
    dtype = np.dtype(dtype)
    if dtype.kind not in NUMBER_KINDS or int(np.prod(shape, dtype=object)) * dtype.itemsize != len(blobs[index]):
        raise WireError("array size does not match its bytes")
    return np.frombuffer(blobs[index], dtype=dtype).reshape(shape).copy()


def pack(message):
    """One frame holding ``message`` (JSON-able apart from arrays)."""
    blobs = []
    header = json.dumps({"body": encode_value(message, blobs),
                         "sizes": [len(b) for b in blobs]}).encode()
    payload = struct.pack(">I", len(header)) + header + b"".join(blobs)
    return len(payload).to_bytes(HEADER_BYTES, "big") + payload


def frame_size(header):
    """The payload length a frame's first HEADER_BYTES bytes announce."""
    return int.from_bytes(header, "big")


def frame_end(data):
    """The length of the whole frame at the start of ``data``, or None while ``data`` holds
    less than that."""
    if len(data) < HEADER_BYTES:
        return None
    end = HEADER_BYTES + frame_size(data[:HEADER_BYTES])
    return end if len(data) >= end else None


def unpack(payload):
    """The message of a frame's payload (the bytes after its length)."""
    try:
        (header_len,) = struct.unpack(">I", payload[:4])
        header = json.loads(payload[4:4 + header_len].decode())
        sizes = header["sizes"]
        blobs, offset = [], 4 + header_len
        for size in sizes:
            blobs.append(payload[offset:offset + size])
            offset += size
        if offset != len(payload) or any(len(b) != s for b, s in zip(blobs, sizes)):
            raise WireError("frame length does not match its contents")
        return decode_value(header["body"], blobs)
    except WireError:
        raise
    except Exception as err:  # struct, unicode, JSON, numpy header errors: all malformed
        raise WireError(f"unreadable frame ({type(err).__name__})") from err


def read_exact(fd, n):
    """Exactly ``n`` bytes from the file descriptor ``fd``, or None when it closes first."""
    import os

    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    """The message of the next frame on ``fd`` (blocking), or None when it closed first."""
    header = read_exact(fd, HEADER_BYTES)
    if header is None:
        return None
    return unpack(read_exact(fd, frame_size(header)))


def write_frame(fd, message):
    """Write one frame to the file descriptor ``fd``."""
    write_all(fd, pack(message))


def write_all(fd, data):
    """Write the bytes ``data`` (e.g. a frame from ``pack``) to the file descriptor ``fd``."""
    import os

    data = memoryview(data)
    while data:
        data = data[os.write(fd, data):]
