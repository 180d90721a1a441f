"""A Model: a Network plus everything needed to use it on raw data.

The network only sees numbers. A Model also remembers the feature names, the scaler fitted on the
training rows, the class names (so predictions come back as "Iris-setosa", not 0), the loss and
the training settings, and it is what a model file holds.
"""
import numbers
import warnings

import numpy as np

from .data import Scaler, as_dataset, detect_task, names_text, pick_columns, unnamed
from .errors import ConfigError, DataError
from .network import Network
from .training import accuracy, choose_task, fit, regression_metrics, validation_pair

DEFAULTS = {  # sensible defaults per task; every one can be overridden
    "classification": {"output_activation": "softmax", "loss": "cross_entropy"},
    "regression": {"output_activation": "identity", "loss": "squared_error"},
}


class Model:
    """An MLP with its preprocessing: ``Model(hidden=(5,)).fit(X, y)`` then ``predict(X)``.

    Parameters
    ----------
    hidden : tuple of int
        Neurons of each hidden layer.
    activation, output_activation, loss : str
        Output activation and loss default per task (softmax + cross_entropy for classes,
        identity + squared_error for regression).
    task : "auto", "classification" or "regression"
    scale : "minmax", "standard" or "none"; fitted on the training rows only.
    scale_targets : for regression with an identity output layer (the default) and squared error,
        train on standardized targets, (y - mean) / spread for each output (spread: the root mean
        square of the centered column), and give predictions in the data's units again. With one
        output the History's rmse is in the data's units; with several, rmse and R^2 are over the
        standardized outputs, each output weighing the same (evaluate() gives the data's units);
        the loss is the network's, on the standardized targets. An identity output starts near 0,
        so targets in the thousands would otherwise take thousands of epochs. A bounded output
        (sigmoid, tanh, relu) keeps the targets as they are: its range is what they must fit.
    init, dtype : passed to :class:`~deltaprop.network.Network`.
    """

    def __init__(self, hidden=(5,), activation="sigmoid", output_activation=None, loss=None,
                 task="auto", scale="standard", init="glorot_uniform", dtype="float64", scale_targets=True):
        self.hidden = _layer_sizes(hidden)
        self.activation, self.output_activation, self.loss = activation, output_activation, loss
        self.task, self.init, self.dtype = task, init, dtype
        self.scaler = Scaler(scale)
        self.scale_targets = bool(scale_targets)
        self.target_mean = self.target_spread = None  # y_network = (y - mean) / spread (regression)
        self.network, self.classes, self.feature_names, self.label_name = None, None, None, "label"
        self.settings, self.history = {}, None

    # ---- preparing data ----------------------------------------------------------------------
    def _setup(self, data, y):
        auto = self.task == "auto"
        task = detect_task(y) if auto else choose_task(self.task)
        self.task = task
        self.feature_names, self.label_name = list(data.feature_names), data.label_name
        defaults = DEFAULTS[task]
        self.output_activation = self.output_activation or defaults["output_activation"]
        self.loss = self.loss or defaults["loss"]
        if task == "classification":
            y = np.asarray(y)
            self.classes = [_py(c) for c in np.unique(y if y.ndim == 1 else np.arange(y.shape[1]))]
            if len(self.classes) < 2:
                hint = (" (task 'auto' takes a few whole numbers for class codes; pass task='regression' to predict "
                        "numbers)" if auto and isinstance(self.classes[0], numbers.Number) else "")
                raise DataError(f"classification needs at least 2 classes; the label column holds only "
                                f"{self.classes[0]!r}{hint}")

    def _n_out(self, y):
        if self.task == "classification":
            k = len(self.classes)
            return 1 if k == 2 and self.output_activation == "sigmoid" else k
        y = np.asarray(y)
        return 1 if y.ndim == 1 else y.shape[1]

    def prepare_X(self, X):
        """Raw features -> network inputs (checks the columns, applies the saved scaler). A
        DataFrame's columns are taken by name (other columns are left out; a missing one is an
        error, unless the model was trained on an array: then by position), an array's by position."""
        data = as_dataset(X, feature_names=None)
        A, want, names = data.X, list(self.feature_names), list(data.feature_names)
        if hasattr(X, "columns") and names != want and (set(want) <= set(names) or want != unnamed(len(want))):
            A = A[:, pick_columns(names, want, "X has ")]  # (a model trained on an array: a frame by position)
        if A.shape[1] != len(want):
            raise DataError(f"expected {len(want)} features ({names_text(want)}); received {A.shape[1]}")
        return self.scaler.transform(A).astype(self.network.dtype)

    def encode_y(self, y):
        """Raw targets -> network targets: class names to one-hot rows (or a 0/1 column)."""
        y = np.asarray(y)
        if self.task == "regression":
            if y.dtype.kind not in "biuf":
                _check_numeric_targets(y)
            Y = y.reshape(-1, 1).astype(np.float64) if y.ndim == 1 else y.astype(np.float64)
            return Y if self.target_mean is None else (Y - self.target_mean) / self.target_spread
        if y.ndim == 2:
            return y.astype(np.float64)
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({str(_py(v)) for v in y if _py(v) not in index})
        if unknown:
            first = next(i for i, v in enumerate(y) if _py(v) not in index)
            raise DataError(f"unknown class label(s) {names_text(unknown[:5])} (the first in data row {first + 1}); "
                            f"the model knows: {names_text(self.classes)}")
        codes = np.array([index[_py(v)] for v in y])
        if self.network.sizes[-1] == 1:
            return codes.reshape(-1, 1).astype(np.float64)
        return np.eye(len(self.classes))[codes]

    # ---- training ----------------------------------------------------------------------------
    def fit(self, X, y, epochs=200, batch_size=16, optimizer="adam", learning_rate=None, l2=0.0,
            validation_data=None, validation_fraction=0.0, stratify=True, seed=None, callbacks=(),
            verbose="auto", lr_schedule=None, shuffle=True, warm_start=False, feature_names=None, label_name=None,
            resume=None, catch_interrupt=False):
        """Fit the scaler on the training rows, build the network and train it; returns a History.

        X may be an array or a DataFrame (its column names become the feature names); y holds class
        names, class codes or real values. The learning rate η defaults to 0.01 (good for Adam) for an
        optimizer given by name; an optimizer object keeps its own.
        ``resume`` (from :func:`deltaprop.io.load_checkpoint`, on the model it returned) continues an
        interrupted run: called with the same data and settings it reaches the same weights.
        """
        if resume is not None and self.network is None:
            raise ConfigError("resume continues the model that load_checkpoint returned; received a model that was "
                              "never trained (model, checkpoint = load_checkpoint(path); model.fit(..., resume=checkpoint))")
        if learning_rate is None and isinstance(optimizer, str):
            learning_rate = 0.01
        if isinstance(y, (list, tuple)):  # before NumPy turns [1, "b", nan] into the strings "1", "b", "nan"
            _check_labels(np.array(y, dtype=object))
        data = as_dataset(X, y, feature_names=feature_names, label_name=label_name or "label")
        X, y = data.X, data.y
        _check_labels(y)
        if validation_data is None and validation_fraction:
            from .data import split_indices
            train, val = split_indices(y if detect_task(y) == "classification" else np.zeros(len(y)),
                                       validation_fraction, seed=seed, stratify=stratify)
            validation_data, X, y = (X[val], y[val]), X[train], y[train]
        if not ((warm_start or resume is not None) and self.network is not None):
            self._setup(data, data.y)  # every class of the data, even one seen only in validation
            self.scaler.fit(X)
            self._fit_targets(y)
            sizes = [X.shape[1], *self.hidden, self._n_out(y)]
            self.network = Network(sizes, self.activation, self.output_activation, self.init, seed, self.dtype)
        if self.task == "classification" and np.ndim(y) == 1:
            _warn_unseen_classes(self.classes, y, len(data.y) - len(y))
        val = None
        if validation_data is not None:
            Xv, yv = validation_pair(validation_data)
            val = (self.prepare_X(Xv), self.encode_y(np.asarray(yv)))
        self.settings = {**self.settings, "epochs": epochs, "batch_size": batch_size, "optimizer": getattr(optimizer, "name", optimizer),
                         "learning_rate": getattr(optimizer, "learning_rate", learning_rate), "l2": l2, "seed": seed, "shuffle": shuffle,
                         "validation_fraction": validation_fraction, "stratify": stratify, "scale": self.scaler.kind}
        self.history = fit(self.network, self.prepare_X(X), self.encode_y(y), epochs=epochs, batch_size=batch_size,
                           optimizer=optimizer, learning_rate=learning_rate, loss=self.loss, l2=l2,
                           lr_schedule=lr_schedule, shuffle=shuffle, seed=seed, validation_data=val,
                           callbacks=callbacks, verbose=verbose, task=self.task, model=self, resume=resume,
                           catch_interrupt=catch_interrupt)
        return self.history

    def _fit_targets(self, y):
        """The regression targets' mean and spread of each output, from the training rows."""
        self.target_mean = self.target_spread = None
        if (self.task == "regression" and self.scale_targets and self.loss == "squared_error"
                and self.output_activation == "identity"):  # (a bounded output's range is the targets')
            Y = self.encode_y(np.asarray(y))
            mean = Y.mean(axis=0)
            spread = np.sqrt(((Y - mean) ** 2).mean(axis=0))
            self.target_mean, self.target_spread = mean, np.where(spread > 0, spread, 1.0)

    def _in_data_units(self, A):
        """Network outputs (or encoded targets) of a regression model in the data's units."""
        return A if self.target_mean is None else A * self.target_spread + self.target_mean

    # ---- using ---------------------------------------------------------------------------------
    def _require_fitted(self):
        if self.network is None:
            raise ConfigError("this model is not trained yet; call fit(X, y) first")

    def predict_proba(self, X):
        """Class probabilities (m, k) for classification."""
        self._require_fitted()
        if self.task != "classification":
            raise ConfigError("predict_proba is for classification models; this one does regression")
        A = self.network._forward(self.prepare_X(X))
        return np.hstack([1 - A, A]) if A.shape[1] == 1 else A

    def predict(self, X):
        """Class names (classification) or values (regression; 1-D for a single output)."""
        self._require_fitted()
        if self.task == "classification":
            return np.array(self.classes, dtype=object)[self.predict_proba(X).argmax(axis=1)]
        A = self._in_data_units(self.network._forward(self.prepare_X(X)))
        return A[:, 0] if A.shape[1] == 1 else A

    def evaluate(self, X, y):
        """Metrics on (X, y): accuracy, per-class precision/recall/F1 and the confusion matrix, or RMSE/R^2
        (in the data's units; with several outputs pooled over them, and each output's own in "per_output")."""
        self._require_fitted()
        Y = self.encode_y(np.asarray(y))
        A = self.network._forward(self.prepare_X(X))
        loss = float(self.network.resolve_loss(self.loss).value(self.network.layers[-1].activation,
                                                                  self.network.layers[-1].z, A, Y).mean())
        if self.task == "regression":
            A, Y = self._in_data_units(A), self._in_data_units(Y)
            metrics = {"loss": loss, **regression_metrics(A, Y), "n": len(Y)}
            if Y.shape[1] > 1:  # the pooled RMSE is mostly the largest-scale output's
                metrics["per_output"] = [{"output": j, **regression_metrics(A[:, [j]], Y[:, [j]])}
                                         for j in range(Y.shape[1])]
            return metrics
        return {"loss": loss, "accuracy": accuracy(A, Y), **classification_report(
            _codes(Y), _codes(np.hstack([1 - A, A]) if A.shape[1] == 1 else A), self.classes)}

    def __repr__(self):
        arch = "-".join(map(str, self.network.sizes)) if self.network else "untrained"
        return f"Model({arch}, task={self.task!r}, loss={self.loss!r})"


def _codes(P):
    return P[:, 0].astype(int) if P.shape[1] == 1 else P.argmax(axis=1)


def classification_report(true, pred, classes):
    """Confusion matrix (rows: true class, columns: predicted) and per-class precision/recall/F1."""
    k = len(classes)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (true, pred), 1)
    per_class = []
    for i, name in enumerate(classes):
        tp, predicted, actual = cm[i, i], cm[:, i].sum(), cm[i, :].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class.append({"class": name, "precision": float(p), "recall": float(r), "f1": float(f1), "support": int(actual)})
    return {"confusion_matrix": cm.tolist(), "per_class": per_class, "n": int(cm.sum())}


def _layer_sizes(hidden):
    """``hidden`` as a tuple of positive ints (one int is one hidden layer; () is none)."""
    sizes = [hidden] if isinstance(hidden, (int, np.integer)) else hidden
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or isinstance(hidden, str) or not all(
            isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in sizes):
        raise ConfigError(f"hidden must be positive layer sizes such as (5,) or (16, 8); received {hidden!r}")
    return tuple(int(h) for h in sizes)


def _check_labels(y):
    """A label column that finding the classes (a sort) can use: no missing values, one kind of value."""
    if y.ndim != 1 or y.dtype.kind not in "fO":
        return
    missing = np.flatnonzero([_missing(v) for v in y] if y.dtype.kind == "O" else np.isnan(y))
    if len(missing):
        raise DataError(f"the label column holds {len(missing)} missing value(s) (the first at row {missing[0]}); "
                        f"expected a label in every row")
    first = {}  # kind of value -> (row, value) where it first appears
    for i, v in enumerate(y):
        first.setdefault("numbers" if isinstance(v, numbers.Number) else "text" if isinstance(v, str)
                         else type(v).__name__, (i, _py(v)))
    if len(first) > 1:
        (a, (i, u)), (b, (j, v)) = list(first.items())[:2]
        raise DataError(f"labels mix {a} and {b} ({u!r} at row {i}, {v!r} at row {j}); "
                        f"expected all class names or all numbers")


def _missing(v):
    return v is None or type(v).__name__ in ("NAType", "NaTType") or (isinstance(v, numbers.Real) and v != v)


def _warn_unseen_classes(classes, y, held_out):
    """A warning when classes have no training row (the validation split took every row of them)."""
    seen = {_py(v) for v in y}
    missing = [c for c in classes if c not in seen]
    if missing:
        rows = f"after {held_out} of {held_out + len(y)} rows were held out for validation" if held_out else "in y"
        warnings.warn(f"{len(missing)} of {len(classes)} classes {'has' if len(missing) == 1 else 'have'} no training row {rows} "
                      f"({names_text([str(c) for c in missing])}); the network cannot learn {'it' if len(missing) == 1 else 'them'}"
                      f"{': hold out fewer rows' if held_out else ''}", UserWarning, stacklevel=3)


def _check_numeric_targets(y):
    for i, v in enumerate(np.ravel(y)):
        try:
            float(v)
        except (TypeError, ValueError):
            row = i // (y.shape[1] if y.ndim == 2 else 1) + 1
            raise DataError(f"regression needs numeric targets; received {_py(v)!r} in data row {row} "
                            f"(class names need a classification model)") from None


def _py(v):
    """A NumPy scalar as the plain Python value (so class names survive JSON)."""
    return v.item() if isinstance(v, np.generic) else v
