"""The message format between the grader and the student process: JSON plus .npy blobs.

Nothing is ever pickled. A value is encoded as JSON whose arrays are replaced by
``{"nd": i}``, the index of an ``.npy`` blob (written and read with allow_pickle=False).
A frame on a pipe is an 8-byte length (``HEADER_BYTES``, big-endian), then the JSON header,
then the blobs. That framing lives here only: ``frame_size``, ``frame_end`` and ``read_frame``.

This module is copied into the sandbox and runs there too: it needs only the standard
library and NumPy.
"""
import io
import json
import struct

import numpy as np

NUMBER_KINDS = "biuf"  # bool, int, unsigned, float: the only arrays that cross the boundary
HEADER_BYTES = 8  # a frame starts with the length of its payload, big-endian


class WireError(Exception):
    """A frame or value that breaks the format; the message says what was wrong."""


def encode_value(value, blobs):
    """JSON-ready form of ``value``; arrays are appended to ``blobs`` as .npy bytes."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, dict):
        return {"dict": {str(k): encode_value(v, blobs) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [encode_value(v, blobs) for v in value]}
    array = np.asarray(value)
    if array.dtype.kind not in NUMBER_KINDS:
        raise WireError(f"a {type(value).__name__} is not a number or an array of numbers")
    buffer = io.BytesIO()
    np.save(buffer, array if array.flags.c_contiguous else array.copy(order="C"), allow_pickle=False)  # 0-d stays 0-d
    blobs.append(buffer.getvalue())
    return {"nd": len(blobs) - 1}


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
    if kind == "nd" and isinstance(inner, int) and 0 <= inner < len(blobs):
        array = np.load(io.BytesIO(blobs[inner]), allow_pickle=False)
        if array.dtype.kind not in NUMBER_KINDS:
            raise WireError(f"array of dtype {array.dtype} is not numeric")
        return array
    raise WireError("malformed value")


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
