"""Data: CSV files, arrays and DataFrames in; scaled, split, labelled arrays out.

A :class:`Dataset` is features ``X`` (m, n) float64, raw targets ``y`` (m,) (class names as strings,
or numbers), the feature names and the label name. The CSV reader reports problems with the file
name and line number, because that is where a user has to look.
"""
import csv
import functools
import io
import math
import os
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .errors import ConfigError, DataError, choose
from .network import as_array

MAX_CSV_BYTES = 2 * 1024**3  # a CSV larger than this is almost certainly a mistake
MAX_FIELD_CHARS = 1_000_000  # a single field this long means a broken file


@dataclass
class Dataset:
    """Features, targets and their names. ``source`` says where the data came from."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list
    label_name: str = "label"
    source: str = "<array>"
    classes: list = field(default=None)

    def __len__(self):
        return len(self.X)


def names_text(items, limit=12):
    """Names for a one-line message: printable ones as they are, others (newlines, a comma or a
    space, which would blur where one name ends) as repr;
    past ``limit`` names, the first ones, "…", the last one and how many there are."""
    items = [t if t.isprintable() and not (set(t) & set(", ")) else repr(t) for t in map(str, items)]
    if len(items) > limit:
        items = items[:limit - 2] + ["…", items[-1], f"({len(items)} names)"]
        return ", ".join(items[:-1]) + " " + items[-1]
    return ", ".join(items)


def count(n, word):
    """ "1 column", "2 columns"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class NotANumber(DataError):
    """A feature cell holds text. ``key`` names its column as ``load_csv(drop=...)`` takes it (by
    name, or by index in a file without a header), so a caller can suggest leaving it out;
    ``label`` is the column taken as the label; ``first_row``: the text is in the file's first row."""

    def __init__(self, message, key, label, first_row=False):
        super().__init__(message)
        self.key, self.label, self.first_row = key, label, first_row


def _cell_problem(cell, v):
    """Why a feature cell is not usable, or None when ``v`` (its value) is a finite number."""
    if cell == "":
        return "an empty cell (a missing value)"
    if v is None:
        return f"{cell[:40]!r} is not a number"
    return None if math.isfinite(v) else f"{cell[:40]!r} is not finite"


# ---- reading CSV ----------------------------------------------------------------------------
def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def _read_rows(path):
    """Rows of a CSV file ("-" is standard input) as lists of stripped strings, with line numbers."""
    if path == "-":
        import sys
        return _parse_rows(sys.stdin.buffer.read(), "<stdin>")
    name = os.fspath(path)
    if os.path.isdir(name):
        raise DataError(f"{name}: expected a CSV file; received a folder")
    if os.path.getsize(name) > MAX_CSV_BYTES:
        raise DataError(f"{name}: file is larger than {MAX_CSV_BYTES // 1024**3} GiB; refusing to read it")
    with open(name, "rb") as fh:
        raw = fh.read()
    return _parse_rows(raw, name)


def _parse_rows(raw, name):
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{name}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None
    if "\x00" in text:
        raise DataError(f"{name}: contains NUL bytes; expected a text CSV file, not a binary file")
    csv.field_size_limit(MAX_FIELD_CHARS)
    rows, start = [], 1
    # strict: a quote left open would otherwise swallow every later line into one field
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = "; a quoted field starting on this line is never closed" if "end of data" in str(exc) else ""
        raise DataError(f"{name}, line {start}: unreadable CSV ({exc}){hint}") from None
    if rows and len(rows[0][1]) > 1 and all(cells[-1] == "" for _, cells in rows):
        rows = [(line, cells[:-1]) for line, cells in rows]  # a comma that ends every line, the header's too
    elif len(rows) > 1 and all(cells[-1] == "" and len(cells) == len(rows[0][1]) + 1 for _, cells in rows[1:]):
        rows = rows[:1] + [(line, cells[:-1]) for line, cells in rows[1:]]  # ... or every line below the header
    return rows


def _separator_hint(rows):
    """For a message about columns: a note when the first line looks separated by something else."""
    cells = rows[0][1]
    for sep, what in ((";", "semicolons"), ("\t", "tabs")):
        if any(sep in c for c in cells):
            return f" (the values seem to be separated by {what}; deltaprop reads comma-separated values)"
    return ""


def _has_header(rows, names=None, name=None):
    """Is the first row a header? Yes when it holds all of ``names`` (a model's feature names;
    names that are whole numbers, as "0", "1" of a DataFrame, only above data that is not all
    whole numbers: above whole numbers such a row could be data too, and file ``name`` is refused
    until the caller says which), when a column that is numeric below is not numeric in it, or
    when a text column's first value never comes again while the values below it repeat (a name
    like "species" above class labels, even when every feature name is a number)."""
    first = rows[0][1]
    if names and set(names) <= set(first):
        if not all(_is_integer(c) for c in names) or any(
                _number(c) is not None and not _is_integer(c) for _, cells in rows[1:] for c in cells):
            return True
        raise DataError(f"{name}: the first line ({names_text(first)}) holds the model's feature names, which are "
                        f"whole numbers, above whole numbers: it may be the column names or a row of data; "
                        f"say which with --header or --no-header (header=True or False)")
    if len(rows) == 1:
        return all(_number(c) is None for c in first)
    second = rows[1][1]
    if any(_number(a) is None and _number(b) is not None for a, b in zip(first, second)):
        return True
    if not all(_is_integer(c) for c in first if _number(c) is not None):
        return False  # a number such as 4.0 or 1e3 is data: feature names that are numbers count 0, 1, 2, ...
    for c, cell in enumerate(first):
        below = [cells[c] for _, cells in rows[1:] if c < len(cells)]
        if _number(cell) is None and cell not in below and len(set(below)) < len(below):
            return True
    return False


def _is_integer(text):
    return text.lstrip("+-").isdigit()


def _column_index(key, names, n_cols, name, what="label column"):
    """The 0-based index of column ``key``: a header name, or an index (negative counts from the end)."""
    if key is None:
        return n_cols - 1
    if isinstance(key, (int, np.integer)) or (isinstance(key, str) and key.lstrip("-").isdigit() and key not in names):
        idx = int(key)
        if not -n_cols <= idx < n_cols:
            raise DataError(f"{name}: {what} index {idx} is out of range; the file has {count(n_cols, 'column')} "
                            f"(0 to {n_cols - 1}, or -{n_cols} to -1 from the end)")
        return idx % n_cols
    if key in names:
        return names.index(key)
    raise DataError(f"{name}: no {what} {key!r}; columns are: {names_text(names)}")


def load_csv(path, label=None, header="auto", prefer_label=None, drop=(), features=None):
    """Read a CSV file into a :class:`Dataset`.

    label : column name or index of the targets (default: the last column).
    header : "auto" (detected), True or False.
    prefer_label : a column name to use as the label when ``label`` is None and the header has it.
    drop : column names or indices to leave out (an id, a free-text note).
    features : feature names to read, in this order, when the header names them all (a saved
        model's); the other columns are then left out, and ``prefer_label`` must be there too
        unless ``label`` is given.
    Feature columns must be numbers; the label column may hold numbers or class names.
    """
    name = "<stdin>" if path == "-" else os.fspath(path)
    rows = _read_rows(path)
    if not rows:
        raise DataError(f"{name}: the file is empty; expected rows of comma-separated values")
    has_header = _has_header(rows, features, name) if header == "auto" else bool(header)
    n_cols = len(rows[0][1])
    names = rows[0][1] if has_header else unnamed(n_cols - 1) + ["label"]
    body = rows[1:] if has_header else rows
    if not body:
        raise DataError(f"{name}: only a header line; expected at least one row of data below it")
    if n_cols < 2:
        raise DataError(f"{name}: expected at least 2 columns (features and a label); received {n_cols}{_separator_hint(rows)}")
    for what, key in [("the label column", label)] + [("columns to drop", key) for key in drop]:
        if not has_header and key is not None and not str(key).lstrip("-").isdigit():
            raise DataError(f"{name}: no header line, so {what} must be given by index; received {key!r}")
    if has_header:  # (a column dropped by its index may share its name with another)
        by_index = {int(k) % n_cols for k in drop if _is_integer(str(k)) and str(k) not in names and -n_cols <= int(k) < n_cols}
        _check_unique([c for i, c in enumerate(names) if i not in by_index], rows[0][0], name, " (or drop one by its index)")
    by_name = has_header and features is not None and set(features) <= set(names)
    if label is None and by_name and prefer_label not in names:
        raise DataError(f"{name}: no label column {prefer_label!r} (the model's label); columns are: {names_text(names)}")
    if label is None and has_header and prefer_label in names:
        label = prefer_label
    li = _column_index(label, names, n_cols, name)
    cols = [names.index(f) for f in features] if by_name else _kept(li, drop, names, name)
    X, y = _columns(body, li, cols, n_cols, names, name, has_header)
    return Dataset(X, y, [names[c] for c in cols], names[li], name)


def _kept(li, drop, names, name):
    """The feature columns: all but the label and those in ``drop``."""
    dropped = {_column_index(key, names, len(names), name, "column to drop") for key in drop}
    if li in dropped:
        raise DataError(f"{name}: column {names[li]!r} is the label; expected feature columns to drop")
    cols = [c for c in range(len(names)) if c != li and c not in dropped]
    if not cols:
        raise DataError(f"{name}: no feature column is left after dropping {names_text([names[c] for c in sorted(dropped)])}")
    return cols


def _check_unique(names, line, name, hint=""):
    seen = set()
    for col in names:
        if col in seen:
            raise DataError(f"{name}, line {line}: the header names column {col!r} twice; expected unique column names{hint}")
        seen.add(col)


def _columns(body, li, cols, n_cols, names, name, has_header=True):
    """Features ``X`` (m, len(cols)) from columns ``cols``, and the labels of column ``li``."""
    def text_in(message, c, r):  # a text column: NotANumber, so that the CLI can suggest --drop
        return NotANumber(message, names[cols[c]] if has_header else str(cols[c]), names[li], first_row=r == 0 and not has_header)
    X = _feature_matrix(body, cols, n_cols, [names[col] for col in cols], name, text_in, hint=True)
    return X, _label_array([cells[li] for _, cells in body], name)


def _feature_matrix(body, cols, width, col_names, name, text_in=None, hint=False):
    """X (m, len(cols)) from the columns ``cols`` of each row (``width`` fields a row), a finite
    number in every cell; ``col_names[c]`` names column ``cols[c]`` in messages. ``text_in(message,
    c, r)`` is the error for text in a cell of row r (else DataError); ``hint``: say if ';' or tabs
    separate."""
    X = np.empty((len(body), len(cols)))
    for r, (line, cells) in enumerate(body):
        if len(cells) != width:
            raise DataError(f"{name}, line {line}: {count(len(cells), 'field')}; expected {width} like the first line")
        for c, col in enumerate(cols):
            cell = cells[col]
            v = _number(cell)
            problem = _cell_problem(cell, v)
            if problem:
                message = (f"{name}, line {line}, column {col_names[c]!r}: {problem}; expected a finite number"
                           f"{_separator_hint(body) if hint else ''}")
                raise text_in(message, c, r) if text_in and v is None and cell else DataError(message)
            X[r, c] = v
    return X


def _label_array(labels, name):
    if any(v == "" for v in labels):
        raise DataError(f"{name}: the label column has empty cells; every row needs a label")
    if all(_is_integer(v) and len(v) < 19 for v in labels):  # class codes stay as written: 0, 1, 2 (not 0.0, 1.0, 2.0)
        return np.array([int(v) for v in labels])
    numbers = [_number(v) for v in labels]
    if all(v is not None for v in numbers):
        arr = np.array(numbers)
        if not np.isfinite(arr).all():
            raise DataError(f"{name}: the label column holds NaN or inf; expected finite numbers or class names")
        return arr
    return np.array(labels, dtype=object)


def unnamed(n):
    """The names of n feature columns that have none (a file without a header, an array): x1, x2, ..."""
    return [f"x{i + 1}" for i in range(n)]


def pick_columns(names, want, where, columns=None, hint=""):
    """The indices of ``want`` (a model's feature names) among ``names``. A missing one is an error
    that names it, the model's names and the columns there are (``columns``, default ``names``);
    ``where`` starts it ("data.csv: ", "X has ")."""
    missing = [f for f in want if f not in names]
    if missing:
        raise DataError(f"{where}no column(s) {names_text(missing)}; the model needs: {names_text(want)}; "
                        f"columns are: {names_text(names if columns is None else columns)}{hint}")
    return [names.index(f) for f in want]


def load_features(path, feature_names, header="auto"):
    """Feature rows for prediction: columns picked by name when the file has a header and the
    model's features have names, else by position (a trailing label column, if present, is
    ignored). A header that lacks one of the model's names is an error, never read by position."""
    name = "<stdin>" if path == "-" else os.fspath(path)
    rows = _read_rows(path)
    if not rows:
        raise DataError(f"{name}: the file is empty; expected rows of comma-separated values")
    n = len(feature_names)
    has_header = _has_header(rows, feature_names, name) if header == "auto" else bool(header)
    if has_header:
        names, body = rows[0][1], rows[1:]
        _check_unique([c for c in names if c in feature_names], rows[0][0], name)
        if list(feature_names) == unnamed(n) and not set(feature_names) <= set(names) and len(names) in (n, n + 1):
            cols = list(range(n))  # a model trained without column names: by position
        else:
            cols = pick_columns(names, feature_names, f"{name}: ", hint=_separator_hint(rows))
    else:
        body, width = rows, len(rows[0][1])
        if width not in (n, n + 1):
            raise DataError(f"{name}: {count(width, 'column')}; the model needs {n} features ({names_text(feature_names)})"
                            f"{_separator_hint(rows)}")
        cols = list(range(n))
    if not body:
        raise DataError(f"{name}: only a header line; expected at least one row of data below it")
    return _feature_matrix(body, cols, len(rows[0][1]), feature_names, name)


def load_iris():
    """The 150-row UCI Iris data the seed uses (bundled): 4 features, 3 classes."""
    X, y = _iris_columns()
    return Dataset(X.copy(), y.copy(), ["sepal_length", "sepal_width", "petal_length", "petal_width"], "species", "iris.csv")


@functools.lru_cache(maxsize=1)
def _iris_columns():
    """The bundled file, parsed once a process (load_iris hands out copies)."""
    text = resources.files("deltaprop").joinpath("data/iris.csv").read_bytes()
    rows = _parse_rows(text, "iris.csv")
    return _columns(rows, 4, range(4), 5, ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"], "iris.csv")


def as_dataset(X, y=None, feature_names=None, label_name="label"):
    """A :class:`Dataset` from NumPy arrays, lists or pandas objects (DataFrame/Series)."""
    if hasattr(X, "columns"):  # a pandas DataFrame: keep its column names
        feature_names = feature_names or [str(c) for c in X.columns]
        X = X.to_numpy()
    names = [] if feature_names is None else list(feature_names)
    twice = [c for i, c in enumerate(names) if c in names[:i]]
    if twice:
        raise DataError(f"the feature names (X's columns) name {twice[0]!r} twice; expected unique names")
    if y is not None and hasattr(y, "to_numpy"):
        label_name = str(getattr(y, "name", None) or label_name)
        y = y.to_numpy()
    X = as_array(X, "X")
    if X.ndim != 2:
        raise DataError(f"expected X as a 2-D table (m samples, n features); received shape {X.shape}")
    if X.dtype.kind not in "biuf":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"expected numeric features; received an array of dtype {X.dtype}") from None
    if not np.isfinite(X).all():
        raise DataError("X contains NaN or inf; expected finite numbers")
    names = list(feature_names) if feature_names is not None else unnamed(X.shape[1])
    if len(names) != X.shape[1]:
        raise DataError(f"expected {X.shape[1]} feature names; received {len(names)}")
    y = None if y is None else as_array(y, "y")
    if y is not None and len(y) != len(X):
        raise DataError(f"X has {len(X)} rows but y has {len(y)}; expected one target per row")
    return Dataset(X.astype(np.float64, copy=False), y, names, label_name)


# ---- what kind of task the targets describe -------------------------------------------------
def detect_task(y):
    """"classification" for class names or a few integer codes, else "regression"."""
    y = np.asarray(y)
    if y.ndim == 2:
        is_one_hot = y.shape[1] > 1 and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()
        return "classification" if is_one_hot else "regression"
    if y.dtype.kind in "OUSb":
        return "classification"
    values = np.unique(y)
    integer = np.all(np.mod(values, 1) == 0)
    return "classification" if integer and len(values) <= max(2, min(20, len(y) // 5)) else "regression"


# ---- scaling ----------------------------------------------------------------------------------
class Scaler:
    """x' = x * scale + offset, fitted on training rows; "minmax", "standard" or "none"."""

    KINDS = ("minmax", "standard", "none")

    def __init__(self, kind="minmax", scale=None, offset=None):
        self.kind = choose("scaler", kind, {k: k for k in self.KINDS})
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self.offset = None if offset is None else np.asarray(offset, dtype=np.float64)

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[1]
        if self.kind == "minmax":
            # sklearn's MinMaxScaler arithmetic (the seed's): x * (1/range) + (0 - min * (1/range))
            rng = X.max(axis=0) - X.min(axis=0)
            self.scale = 1.0 / np.where(rng == 0, 1.0, rng)  # a constant column maps to 0
            self.offset = 0 - X.min(axis=0) * self.scale
        elif self.kind == "standard":
            std = X.std(axis=0)
            self.scale = 1.0 / np.where(std == 0, 1.0, std)
            self.offset = -X.mean(axis=0) * self.scale
        else:
            self.scale, self.offset = np.ones(n), np.zeros(n)
        return self

    def transform(self, X):
        if self.scale is None:
            raise ConfigError("the scaler is not fitted yet; call fit(X) first")
        X = np.asarray(X, dtype=np.float64)
        return X * self.scale + self.offset

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        return (np.asarray(X, dtype=np.float64) - self.offset) / self.scale

    def __repr__(self):
        return f"Scaler({self.kind!r})"


# ---- splitting --------------------------------------------------------------------------------
def split_indices(y, val_fraction, seed=None, stratify=True):
    """Train and validation row indices; stratified by class when ``stratify`` and y has classes."""
    m = len(y)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.number)) or not 0 <= val_fraction < 1:
        raise ConfigError(f"validation_fraction must be a number in [0, 1) (0 holds out no rows); received {val_fraction!r}")
    if val_fraction == 0:
        return np.arange(m), np.arange(0)
    n_val = int(round(val_fraction * m))
    if n_val < 1 or n_val >= m:
        raise DataError(f"a validation fraction of {val_fraction} leaves {n_val} of {m} rows for validation; "
                        f"expected at least 1 row on each side")
    rng = np.random.default_rng(seed)
    if not stratify:
        order = rng.permutation(m)
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    return _stratified(np.asarray(y), n_val, rng)


def _stratified(y, n_val, rng):
    classes, codes = np.unique(y, return_inverse=True)
    counts = np.bincount(codes)
    # Largest-remainder allocation: each class gets its share of the validation rows.
    share = counts * n_val / len(y)
    take = np.floor(share).astype(int)
    for c in np.argsort(-(share - take), kind="stable")[: n_val - take.sum()]:
        take[c] += 1
    val = []
    for c in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(codes == c))
        val.extend(rows[: take[c]])
    val = np.sort(np.array(val, dtype=int))
    train = np.setdiff1d(np.arange(len(y)), val)
    return train, val
