"""Reading a legacy (pre-zip) `torch.save` file without torch.

Some wheels ship weights in PyTorch's old serialisation (resemblyzer's
``pretrained.pt``). Installing torch to read 17 MB of floats would cost gigabytes, and
unpickling with a permissive unpickler would run whatever the file names. The format
is simple: five pickles in a row (a magic number, the protocol version, sys info, the
object, the list of storage keys), then each storage's bytes as a little-endian int64
element count followed by the raw elements. Tensors inside the object are calls to
``torch._utils._rebuild_tensor_v2`` on storages named by persistent ids; this reader
allows only those, plain containers and the storage classes, and refuses anything else.
"""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class _Storage:
    def __init__(self, dtype: str, numel: int):
        self.dtype, self.numel, self.data = dtype, numel, None


class _Tensor:
    """A view waiting for its storage's bytes (they come after the object's pickle)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        import numpy as np

        data = self.storage.data
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=[s * item for s in self.stride]
        )
        return np.array(view)  # a copy: the file's buffer is not kept


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *metadata):
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel, *_ = pid
        if kind != "storage" or storage_type not in _DTYPES:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return self.storages.setdefault(key, _Storage(_DTYPES[storage_type], numel))


def load(path: Path) -> dict:
    """The saved object, with every tensor as a numpy array."""
    import numpy as np

    with open(path, "rb") as f:
        # Every one of the five pickles goes through the restricted unpickler: a plain
        # pickle.load of the header would run whatever a crafted file put there.
        if _Unpickler(f).load() != MAGIC or _Unpickler(f).load() != PROTOCOL:
            raise ValueError(f"{path} is not a legacy torch.save file")
        info = _Unpickler(f).load()
        if not isinstance(info, dict) or not info.get("little_endian", True):
            raise ValueError(f"{path} was not saved little-endian")
        unpickler = _Unpickler(f)
        obj = unpickler.load()
        for key in _Unpickler(f).load():
            storage = unpickler.storages.get(key)
            if storage is None:
                raise ValueError(f"{path} holds a storage ({key}) that nothing refers to")
            count = int(np.frombuffer(f.read(8), "<i8")[0])
            size = np.dtype(storage.dtype).itemsize * count
            raw = f.read(size)
            if len(raw) != size:
                raise ValueError(f"{path} is truncated")
            storage.data = np.frombuffer(raw, storage.dtype)
    return _materialise(obj)


def _materialise(obj):
    if isinstance(obj, _Tensor):
        return obj.array()
    if isinstance(obj, dict):
        return {key: _materialise(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(value) for value in obj)
    return obj
