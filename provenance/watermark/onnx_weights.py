"""Float weights out of an ONNX file, read with a few lines of protobuf.

Why by hand: the `onnx` package would be a dependency for reading two files' initializers, and
the RivaGAN networks run in torch (`rivagan`), not in an ONNX runtime.
"""

from __future__ import annotations

import numpy as np

from provenance.errors import WatermarkError


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes):
    """Yield (field number, wire type, value) of one protobuf message (enough for ONNX tensors)."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise WatermarkError("the RivaGAN model file is not a readable ONNX model")
        yield field, wire, value


def onnx_float_initializers(path: str) -> dict[str, np.ndarray]:
    """Float weights of an ONNX model (ModelProto.graph=7, GraphProto.initializer=5).

    A few lines of protobuf reading instead of a dependency on the `onnx` package: TensorProto
    dims=1, data_type=2 (1 = float), float_data=4, name=8, raw_data=9.
    """
    with open(path, "rb") as handle:
        model = handle.read()
    weights: dict[str, np.ndarray] = {}
    for field, _, graph in _fields(model):
        if field != 7:
            continue
        for gfield, _, tensor in _fields(graph):
            if gfield != 5:
                continue
            dims, name, raw, floats, dtype = [], "", b"", b"", 1
            for tfield, wire, value in _fields(tensor):
                if tfield == 1 and wire == 0:
                    dims.append(value)
                elif tfield == 1 and wire == 2:
                    pos = 0
                    while pos < len(value):
                        dim, pos = _read_varint(value, pos)
                        dims.append(dim)
                elif tfield == 2:
                    dtype = value
                elif tfield == 4 and wire == 2:
                    floats += value
                elif tfield == 8:
                    name = value.decode()
                elif tfield == 9:
                    raw = value
            if dtype == 1:
                data = np.frombuffer(raw or floats, dtype="<f4").copy()
                weights[name] = data.reshape(dims)
    return weights
