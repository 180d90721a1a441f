"""Model files: NumPy arrays plus a JSON description in one .npz (zip) file. No pickle anywhere.

Loading never runs code from the file: arrays are read with ``allow_pickle=False``, the JSON is
plain data, the archive's sizes are checked before anything is decompressed, and every array's
shape is checked against the description before it is used. Writes are atomic: a temporary file
in the same folder, flushed to disk, then renamed over the target, so a crash mid-save leaves the
old file intact.
"""
import json
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib

import numpy as np

from . import __version__
from .errors import ConfigError, ModelFileError
from .activations import ACTIVATIONS
from .network import Network

FORMAT = "deltaprop-model"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 1024**3  # 1 GiB: far beyond any MLP this library trains on a CPU
META = "meta"


# ---- writing -------------------------------------------------------------------------------------
def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it into place.

    A symlink stays a symlink: the file it points to is the one replaced. A target that exists and
    is not a regular file (a folder, device, FIFO or socket) is refused, since a rename would put a
    regular file in its place. The new file gets the old file's permissions, or 0666 less the umask
    like any file a program creates. An error names ``path``, never the temporary file.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    mode = _mode_for(path, target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=os.path.dirname(target))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename in (tmp, target, None):  # (a full disk names no file)
            raise OSError(exc.errno, exc.strerror, path) from None
        raise


def _mode_for(path, target):
    """The permission bits for ``target``: kept if it exists, else 0666 less the umask."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return 0o666 & ~_umask()
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise ConfigError(f"cannot write {path!r}: it is {kind}; expected a regular file or a new name")
    return stat.S_IMODE(st.st_mode)


def _umask():
    try:  # Linux says it without changing it (setting it and putting it back races with other threads)
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)  # elsewhere: set it and put it back
        os.umask(mask)
        return mask


def atomic_write_text(path, text):
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text(path):
    """The tEXt entries of a PNG file as a dict; {} for a file that is not a PNG."""
    text = {}
    with open(path, "rb") as fh:
        if fh.read(8) != PNG_SIGNATURE:
            return text
        while len(head := fh.read(8)) == 8:
            size, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                break
            if kind == b"tEXt" and size < 2**16:
                key, _, value = fh.read(size).partition(b"\0")
                text[key.decode("latin-1")] = value.decode("latin-1")
                size = 0
            fh.seek(size + 4, os.SEEK_CUR)  # the chunk's data (unless read) and its CRC
    return text


def mark_png(path, key, value):
    """Add the tEXt entry ``key: value`` to the PNG file ``path`` (atomically)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:len(PNG_SIGNATURE)] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ConfigError(f"{os.fspath(path)!r}: expected a PNG image")
    body = b"tEXt" + key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    at = len(PNG_SIGNATURE) + 8 + 13 + 4  # right after IHDR, the chunk every PNG starts with
    atomic_write(path, lambda fh: fh.write(data[:at] + chunk + data[at:]))


def file_kind(path):
    """"checkpoint", "model" or "network" for a file deltaprop wrote; None for any other file."""
    try:
        _open(path, MAX_FILE_BYTES)
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz[META].tobytes().decode("utf-8"))
        _check_meta(path, meta)
    except (ModelFileError, OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RecursionError):
        return None
    return "checkpoint" if isinstance(meta.get("checkpoint"), dict) else meta.get("kind", "model")


def _network_meta(net):
    return {"sizes": net.sizes, "activations": net.activations, "dtype": net.dtype.name,
            "frozen": [sorted(layer.frozen) for layer in net.layers]}


def _network_arrays(net):
    arrays = {}
    for l, layer in enumerate(net.layers):
        arrays[f"W{l}"], arrays[f"b{l}"] = layer.W, layer.b
    return arrays


def _model_parts(model):
    meta = {"kind": "model", "network": _network_meta(model.network), "task": model.task, "loss": model.loss,
            "classes": model.classes, "feature_names": model.feature_names, "label_name": model.label_name,
            "hidden": list(model.hidden), "activation": model.activation, "output_activation": model.output_activation,
            "init": model.init, "scaler": model.scaler.kind, "settings": model.settings}
    arrays = _network_arrays(model.network)
    arrays["scaler_scale"], arrays["scaler_offset"] = model.scaler.scale, model.scaler.offset
    meta["scale_targets"] = model.scale_targets
    if model.target_mean is not None:  # y = network output * spread + mean (a regression model's targets)
        arrays["target_mean"], arrays["target_spread"] = model.target_mean, model.target_spread
    return meta, arrays


def _write(path, meta, arrays):
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "deltaprop_version": __version__, **meta}
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda fh: np.savez(fh, **{META: blob}, **arrays))


def save(obj, path):
    """Save a :class:`~deltaprop.model.Model` or a :class:`~deltaprop.network.Network` to ``path``."""
    from .model import Model
    if isinstance(obj, Network):
        _write(path, {"kind": "network", "network": _network_meta(obj)}, _network_arrays(obj))
    elif not isinstance(obj, Model):
        raise ConfigError(f"save takes a deltaprop Model or Network; received {type(obj).__name__}"
                          " (pickle a scikit-learn estimator, or save its network_)")
    else:
        obj._require_fitted()
        meta, arrays = _model_parts(obj)
        _write(path, meta, arrays)


def save_checkpoint(path, state):
    """Save what resuming needs: the model, the optimizer's state, the resume point, the History."""
    obj = state.model if state.model is not None else state.net
    if isinstance(obj, Network):
        meta, arrays = {"kind": "network", "network": _network_meta(obj)}, _network_arrays(obj)
    else:
        meta, arrays = _model_parts(obj)
    opt = state.optimizer
    meta["checkpoint"] = {"resume": state.resume_point(), "optimizer": opt.get_config(), "t": opt.t,
                          "history": state.history.to_dict(), "epochs": state.epochs}
    for i, s in enumerate(opt.state or []):
        for j, arr in enumerate(s if isinstance(s, tuple) else ([] if s is None else [s])):
            arrays[f"opt{i}_{j}"] = arr
    for i, p in enumerate(state.best_params or []):
        arrays[f"best{i}"] = p
    if state.early_best is not None:  # EarlyStopping's best epoch and its weights
        meta["checkpoint"]["early_best_epoch"] = int(state.early_best[0])
        arrays.update({f"early{i}": p for i, p in enumerate(state.early_best[1])})
    _write(path, meta, arrays)


# ---- reading -------------------------------------------------------------------------------------
def _open(path, max_bytes):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: expected a model file; received a folder")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ModelFileError(f"{path}: {size} bytes is over the {max_bytes}-byte limit for model files")
    with open(path, "rb"):  # an unreadable file fails here with its reason (Permission denied);
        pass                # zipfile.is_zipfile would call it "not a zip file"
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a deltaprop model file (expected a .npz archive; is it truncated or from another program?)")
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
            if total > max_bytes:
                raise ModelFileError(f"{path}: unpacks to {total} bytes, over the {max_bytes}-byte limit for model files")
            for info in zf.infolist():
                _check_member(path, zf, info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path}: corrupt model file ({_first_line(exc)})") from None
    return path


def _check_member(path, zf, info):
    """Read only the .npy header of one entry: a plain numeric array whose shape accounts for
    exactly the entry's size, so nothing is allocated from a shape the file merely claims."""
    with zf.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
        except ValueError:
            raise ModelFileError(f"{path}: entry {info.filename!r} is not a NumPy array") from None
        header = fh.tell()
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ModelFileError(f"{path}: corrupt model file (entry {info.filename!r} holds {dtype} data; expected plain numbers, never pickled objects)")
    size = math.prod(shape) * dtype.itemsize
    if header + size != info.file_size:
        raise ModelFileError(f"{path}: entry {info.filename!r} claims shape {shape} ({size} bytes) but holds {info.file_size - header} bytes")


def _first_line(exc):
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def read(path, max_bytes=MAX_FILE_BYTES):
    """(meta, arrays) of a model file, with every check done; arrays never use pickle."""
    path = _open(path, max_bytes)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ModelFileError(f"{path}: corrupt model file ({_first_line(exc)})") from None
    if META not in arrays:
        raise ModelFileError(f"{path}: not a deltaprop model file (no description inside)")
    try:
        meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError):  # (nested past Python's limit)
        raise ModelFileError(f"{path}: the model description is not valid JSON") from None
    _check_meta(path, meta)
    return meta, arrays


def _check_meta(path, meta):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a deltaprop model file (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not _is_int(version) or version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model file format version {version!r}; this deltaprop ({__version__}) reads version {FORMAT_VERSION}")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _class_names(value):
    """Class names as JSON keeps them: text, numbers or true/false (labels of a boolean column), one kind."""
    return isinstance(value, list) and (all(isinstance(v, str) for v in value) or all(isinstance(v, bool) for v in value)
                                        or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def _list_of(value, kind):
    return isinstance(value, list) and all(isinstance(v, kind) and not isinstance(v, bool) for v in value)


def _network_from(path, netmeta, arrays):
    if not isinstance(netmeta, dict) or "sizes" not in netmeta or "activations" not in netmeta:
        raise ModelFileError(f"{path}: the network description is incomplete")
    sizes, acts = netmeta["sizes"], netmeta["activations"]
    dtype, frozen = netmeta.get("dtype", "float64"), netmeta.get("frozen") or []
    if (not isinstance(sizes, list) or not all(_is_int(s) and s >= 1 for s in sizes) or len(sizes) < 2
            or not _list_of(acts, str) or len(acts) != len(sizes) - 1):
        raise ModelFileError(f"{path}: inconsistent network description (sizes {repr(sizes)[:60]}, activations {repr(acts)[:60]})")
    if dtype not in ("float32", "float64") or not isinstance(frozen, list) or not all(_list_of(f, str) for f in frozen):
        raise ModelFileError(f"{path}: inconsistent network description (dtype {repr(dtype)[:20]}, frozen {repr(frozen)[:40]})")
    weights, biases = [], []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W, b = arrays.get(f"W{l}"), arrays.get(f"b{l}")
        if W is None or b is None or W.shape != (n_out, n_in) or b.shape != (n_out,):
            got = (None if W is None else W.shape, None if b is None else b.shape)
            raise ModelFileError(f"{path}: layer {l + 1} arrays {got} do not match the description "
                                 f"(expected W {(n_out, n_in)} and b {(n_out,)})")
        if W.dtype.kind != "f" or b.dtype.kind != "f":
            raise ModelFileError(f"{path}: layer {l + 1} arrays must be floating point; received {W.dtype} and {b.dtype}")
        weights.append(W)
        biases.append(b)
    try:
        net = Network.from_weights(weights, biases, acts, dtype=dtype)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    for layer, names in zip(net.layers, frozen):
        layer.frozen = set(names) & {"W", "b"}
    return net


def load(path, max_bytes=MAX_FILE_BYTES):
    """Load a model file: a :class:`~deltaprop.model.Model`, or a Network if one was saved."""
    return _from_parts(path, *read(path, max_bytes))


def _from_parts(path, meta, arrays):
    net = _network_from(path, meta.get("network") or {}, arrays)
    if meta.get("kind") == "network":
        return net
    return _model_from(path, meta, arrays, net)


def _model_from(path, meta, arrays, net):
    from .data import Scaler
    from .model import Model
    n_in = net.sizes[0]
    scale, offset = arrays.get("scaler_scale"), arrays.get("scaler_offset")
    names = meta.get("feature_names")
    if scale is None or offset is None or scale.shape != (n_in,) or offset.shape != (n_in,) or not _list_of(names, str) or len(names) != n_in:
        raise ModelFileError(f"{path}: the scaler or feature names do not match the network's {n_in} inputs")
    if scale.dtype.kind not in "iuf" or offset.dtype.kind not in "iuf" or not (np.isfinite(scale).all() and np.isfinite(offset).all()):
        raise ModelFileError(f"{path}: the scaler arrays must hold finite numbers; received {scale.dtype} and {offset.dtype} with NaN/inf or not numbers")
    task, classes = meta.get("task"), meta.get("classes")
    if task not in ("classification", "regression"):
        raise ModelFileError(f"{path}: unknown task {repr(task)[:40]} in the model description")
    if task == "regression" and classes is not None:
        raise ModelFileError(f"{path}: a regression model with class names; expected class names only for classification")
    if task == "classification" and (not _class_names(classes) or len(classes) < 2
                                     or len(set(classes)) != len(classes) or net.sizes[-1] not in (len(classes), 1)):
        raise ModelFileError(f"{path}: the class names do not match the network's {net.sizes[-1]} outputs")
    text = [meta.get(k) for k in ("output_activation", "loss", "scaler", "init", "label_name")]
    if not all(v is None or isinstance(v, str) for v in text) or not isinstance(meta.get("settings", {}), dict) \
            or not isinstance(meta.get("checkpoint"), (dict, type(None))):
        raise ModelFileError(f"{path}: the model description has a setting of the wrong type (names must be text, settings a mapping)")
    hidden, acts, act = meta.get("hidden", net.sizes[1:-1]), net.activations, meta.get("activation")
    one_name = isinstance(act, str) and act in ACTIVATIONS and all(a == act for a in acts[:-1])
    if hidden != net.sizes[1:-1] or not (act is None or one_name or act == acts[:-1]) \
            or meta.get("output_activation") not in (None, acts[-1]):
        raise ModelFileError(f"{path}: the model description (hidden {repr(hidden)[:40]}, activation "
                             f"{repr(meta.get('activation'))[:20]}) does not match its network {net!r}")
    if len(set(names)) != len(names):
        raise ModelFileError(f"{path}: the feature names repeat a name; expected {n_in} different names")
    try:
        model = Model(hidden=meta.get("hidden", net.sizes[1:-1]), activation=meta.get("activation", "sigmoid"),
                      output_activation=meta.get("output_activation"), loss=meta.get("loss"), task=task,
                      scale=meta.get("scaler", "none"), init=meta.get("init", "glorot_uniform"), dtype=net.dtype.name)
        net.resolve_loss(model.loss)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    model.scale_targets = meta.get("scale_targets", False) is True
    mean, spread = arrays.get("target_mean"), arrays.get("target_spread")
    if (mean is None) != (spread is None) or (mean is not None and (
            task != "regression" or mean.shape != (net.sizes[-1],) or spread.shape != (net.sizes[-1],)
            or mean.dtype.kind != "f" or spread.dtype.kind != "f" or not np.isfinite(mean).all()
            or not (np.isfinite(spread).all() and (spread > 0).all()))):
        raise ModelFileError(f"{path}: the target scaling does not match the network's {net.sizes[-1]} outputs "
                             f"(expected a finite mean and a positive spread for each, for regression)")
    if mean is not None:
        model.target_mean, model.target_spread = mean.astype(np.float64), spread.astype(np.float64)
    model.network, model.classes, model.feature_names = net, classes, names
    model.label_name, model.settings = meta.get("label_name", "label"), meta.get("settings", {})
    model.scaler = Scaler(model.scaler.kind, scale, offset)
    return model


load_model = load


def load_checkpoint(path, max_bytes=MAX_FILE_BYTES):
    """(model or network, checkpoint) from a file that :class:`~deltaprop.callbacks.Checkpoint` wrote.

    ``checkpoint`` is what ``fit(..., resume=checkpoint)`` takes: the resume point, the optimizer's
    configuration, step count and state arrays, the History and the best weights so far.
    """
    meta, arrays = read(path, max_bytes)
    obj = _from_parts(path, meta, arrays)
    ck = meta.get("checkpoint")
    if not isinstance(ck, dict) or not isinstance(ck.get("resume"), dict):
        raise ModelFileError(f"{path}: a model file without a checkpoint; expected a file saved by --checkpoint (or Checkpoint)")
    try:
        point = ck["resume"]
        int(point["epoch"]), int(point["batch"]), dict(point["rng"])
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{path}: the checkpoint's resume point is incomplete") from None
    net = _net(obj)
    ck["optimizer_state"] = _indexed(arrays, "opt")
    shapes = [p.shape for p in net.weights + net.biases]
    best = [arrays.get(f"best{i}") for i in range(len(shapes))]
    ck["best_params"] = best if all(b is not None and b.shape == s for b, s in zip(best, shapes)) else None
    early = [arrays.get(f"early{i}") for i in range(len(shapes))]
    fits = isinstance(ck.get("early_best_epoch"), int) and all(e is not None and e.shape == s for e, s in zip(early, shapes))
    ck["early_best"] = (ck["early_best_epoch"], early) if fits else None
    trainable = [p.shape for p, _ in net.params_and_grads()]
    groups = ck["optimizer_state"]
    if groups and (len(groups) != len(trainable) or any(a.shape != s for g, s in zip(groups, trainable) for a in g)):
        raise ModelFileError(f"{path}: the optimizer state in the checkpoint does not match the network's parameters")
    return obj, ck


def _net(obj):
    return obj if isinstance(obj, Network) else obj.network


def _indexed(arrays, prefix):
    """[[opt0_0, opt0_1], [opt1_0, ...], ...] from the flat names opt{i}_{j}."""
    groups = {}
    for name, arr in arrays.items():
        if name.startswith(prefix) and "_" in name:
            i, j = name[len(prefix):].split("_", 1)
            groups.setdefault(int(i), {})[int(j)] = arr
    return [[g[j] for j in sorted(g)] for _, g in sorted(groups.items())]
