"""scikit-learn estimators on the deltaprop engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

They follow scikit-learn's conventions (parameters stored unchanged by ``__init__``, checked in
``fit``; learned attributes end in ``_``) and mirror the parameter names of sklearn's own
``sklearn.neural_network`` estimators, so they drop into pipelines, cross-validation and grid
search. What they add: one activation per hidden layer, a choice of output activation and loss,
a validation loss curve, explicit ``validation_data`` and the explain ledger of a fitted model.

Every number comes from :class:`~deltaprop.network.Network` and :func:`deltaprop.training.fit`;
this module only translates sklearn's settings into the engine's and applies sklearn's stopping
rule between epochs. The differences from sklearn are listed in ``docs/sklearn.md``.

scikit-learn is an optional extra: ``pip install 'deltaprop[sklearn]'``.
"""
from __future__ import annotations

import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("deltaprop.sklearn needs scikit-learn >= 1.6: pip install 'deltaprop[sklearn]'") from exc

from .callbacks import Callback
from .errors import ConfigError, DataError
from .network import Network
from .optimizers import SGD, Adam, Momentum, Nesterov
from .training import fit as train

SOLVERS = ("adam", "sgd")
LEARNING_RATES = ("constant", "adaptive")
SKLEARN_NAMES = {"logistic": "sigmoid"}  # sklearn's activation names that deltaprop spells otherwise
# sklearn's four, then deltaprop's extra and its own spelling of logistic; never softmax, which
# normalizes a whole layer and so belongs only on a classifier's output.
HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu", "sigmoid")
SEED_MAX = 2**31 - 1


def _store(estimator, params):
    """sklearn's rule: ``__init__`` stores every parameter unchanged; ``fit`` validates them."""
    for name, value in params.items():
        if name != "self":
            setattr(estimator, name, value)


def _engine_name(activation):
    return SKLEARN_NAMES.get(activation, activation)


def _sklearn_name(activation):
    return "logistic" if activation == "sigmoid" else activation


def _hidden_sizes(hidden_layer_sizes):
    sizes = [hidden_layer_sizes] if np.ndim(hidden_layer_sizes) == 0 else list(hidden_layer_sizes)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ConfigError(f"hidden_layer_sizes must hold positive integers; received {hidden_layer_sizes!r}")
    return [int(s) for s in sizes]


def _activation(name, value):
    """The engine's name for a hidden-layer activation ``value``, or a ConfigError listing the valid names."""
    if not isinstance(value, str) or value not in HIDDEN_ACTIVATIONS:
        what = f"{name} 'softmax' is for a classifier's output, not a hidden layer" if value == "softmax" else f"unknown {name} {value!r}"
        raise ConfigError(f"{what}; expected one of: {', '.join(HIDDEN_ACTIVATIONS)}")
    return _engine_name(value)


def _hidden_activations(activation, n_hidden):
    if not isinstance(activation, (list, tuple)):
        return [_activation("activation", activation)] * n_hidden
    names = [_activation("activation", a) for a in activation]
    if len(names) != n_hidden:
        raise ConfigError(f"activation lists one name per hidden layer: expected {n_hidden}; received {len(names)}")
    return names


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}; received {value!r}")


def _check_number(name, value, low, integer=False):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= low:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind} >= {low}; received {value!r}")


class _SklearnStopping(Callback):
    """sklearn's stopping rule, run by the engine after every epoch.

    Without early stopping: stop when the training loss has not fallen by ``tol`` for more than
    ``n_iter_no_change`` epochs. With it: the same on the validation score (accuracy or R^2,
    higher is better), and the weights of the best validation score are restored at the end.
    """

    def __init__(self, estimator, n_samples, validation, incremental):
        self.est, self.n_samples, self.validation = estimator, n_samples, validation
        self.incremental, self.count, self.converged = incremental, 0, False
        self.best_params = None

    def on_epoch_end(self, state, epoch, logs):
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_curve_.append(logs["loss"])
        if "val_loss" in logs:
            Xv, yv = self.validation
            est.validation_loss_curve_.append(logs["val_loss"])
            est.validation_scores_.append(est._score_output(state.net._forward(Xv), yv))
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {logs['loss']:.8f}")
        if not self.incremental:
            self._count(state)

    def _count(self, state):
        est = self.est
        if est.early_stopping:
            score = est.validation_scores_[-1]
            self.count = self.count + 1 if score < est.best_validation_score_ + est.tol else 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_params = [p.copy() for p in state.net.weights + state.net.biases]
        else:
            loss = est.loss_curve_[-1]
            self.count = self.count + 1 if loss > est.best_loss_ - est.tol else 0
            est.best_loss_ = min(est.best_loss_, loss)
        if self.count > est.n_iter_no_change:
            self._no_progress(state)

    def _no_progress(self, state):
        # sklearn's "adaptive" schedule (sgd only): divide the step by 5 until it falls below 1e-6.
        opt = state.optimizer
        if self.est.learning_rate == "adaptive" and self.est.solver == "sgd" and opt.learning_rate > 1e-6:
            opt.learning_rate /= 5
            self.count = 0
            return
        state.stop, self.converged = True, True

    def on_train_end(self, state):
        if self.best_params is not None:
            state.end_with(self.best_params)


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: checks, the network, the training call."""

    # ---- settings ------------------------------------------------------------------------------
    def _check_params(self):
        _hidden_activations(self.activation, len(_hidden_sizes(self.hidden_layer_sizes)))
        _check_choice("solver", self.solver, SOLVERS)
        _check_choice("learning_rate", self.learning_rate, LEARNING_RATES)
        _check_choice("loss", self.loss, self._losses)
        for name, low, integer in (("alpha", 0, False), ("learning_rate_init", 0, False), ("tol", 0, False),
                                   ("max_iter", 1, True), ("n_iter_no_change", 1, True)):
            _check_number(name, getattr(self, name), low, integer)
        if self.batch_size != "auto":
            _check_number("batch_size", self.batch_size, 1, integer=True)
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ConfigError(f"validation_fraction must be in (0, 1); received {self.validation_fraction!r}")

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` larger than sample size. It is going to be clipped")
        return int(min(self.batch_size, n))

    def _make_optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "adam":
            return Adam(lr, self.beta_1, self.beta_2, self.epsilon)
        if self.momentum == 0:
            return SGD(lr)
        return (Nesterov if self.nesterovs_momentum else Momentum)(lr, self.momentum)

    def _build_network(self, n_in, n_out):
        hidden = _hidden_sizes(self.hidden_layer_sizes)
        acts = _hidden_activations(self.activation, len(hidden))
        seed = int(self._random_state.randint(SEED_MAX))
        return Network([n_in, *hidden, n_out], acts, self._out_activation, self.init, seed, self.dtype)

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, validation_data=None):
        """Train on (X, y); ``validation_data=(X_val, y_val)`` is watched each epoch. Returns self."""
        return self._fit(X, y, validation_data)

    def _fit(self, X, y, validation_data=None, incremental=False, classes=None):
        self._check_params()
        if incremental and self.early_stopping:
            raise ConfigError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "network_") or not (incremental or self.warm_start)
        X, y = self._validate(X, y, reset=first)
        if first:
            self._random_state = check_random_state(self.random_state)
            self._setup_targets(y, classes)
            self._start(X.shape[1])
        elif classes is not None:
            self._check_same_classes(classes)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        (X, y), validation = self._split(X, y, validation_data)
        self._train(X, y, validation, incremental)
        return self

    def _start(self, n_features):
        """A fresh network and fresh learning curves (the first fit, or a fit without warm_start)."""
        self.network_ = self._build_network(n_features, self._n_out)
        self.n_layers_, self.n_outputs_ = len(self.network_.sizes), self._n_out
        self.out_activation_ = _sklearn_name(self._out_activation)
        self.loss_curve_, self.validation_loss_curve_, self.validation_scores_ = [], [], []
        self.best_loss_, self.best_validation_score_, self.t_ = np.inf, -np.inf, 0

    def _split(self, X, y, validation_data):
        """(X, y) to train on, and the validation set (X_val, y_val) or None."""
        if validation_data is not None:
            Xv, yv = validation_data
            Xv = validate_data(self, Xv, reset=False, dtype=(np.float64, np.float32))
            return (X, y), (Xv, self._check_y_val(yv))
        if not self.early_stopping:
            return (X, y), None
        stratify = y if self._stratify else None
        X, Xv, y, yv = train_test_split(X, y, random_state=self._random_state,
                                        test_size=self.validation_fraction, stratify=stratify)
        if len(Xv) < 2:
            raise DataError("The validation set is too small. Increase 'validation_fraction' "
                            "or the size of your dataset.")
        return (X, y), (Xv, yv)

    def _train(self, X, y, validation, incremental):
        b = self._batch_size(len(X))
        self._l2 = self.alpha / b  # sklearn adds alpha/(2 b) ||W||^2 to the mean loss of a batch of b rows
        if validation is not None:
            validation = (validation[0].astype(self.network_.dtype, copy=False), validation[1])
            if self.validation_scores_ is None:  # a warm start after a fit without validation
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        stopping = _SklearnStopping(self, len(X), validation, incremental)
        self.n_iter_ = 0
        val = None if validation is None else (validation[0], self._encode_y(validation[1]))
        train(self.network_, X, self._encode_y(y), epochs=1 if incremental else self.max_iter, batch_size=b,
              optimizer=self._optimizer, loss=self._loss_name, l2=self._l2, shuffle=self.shuffle,
              seed=int(self._random_state.randint(SEED_MAX)), validation_data=val, callbacks=[stopping],
              verbose=0, task=self._task)
        if not self.validation_scores_:  # sklearn's None when nothing was validated
            self.validation_scores_ = self.best_validation_score_ = None
        if not incremental and not stopping.converged and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)

    # ---- pickling ------------------------------------------------------------------------------
    def __getstate__(self):
        # A Network holds its activations as functions, some of them lambdas, which pickle cannot
        # store; joblib, Dask and model files need the estimator pickled, so the network travels
        # as its parameters and activation names and is rebuilt on arrival.
        state = dict(super().__getstate__())  # a copy: object.__getstate__ hands out __dict__ itself
        net = state.get("network_")
        if net is not None:
            state["network_"] = {"weights": net.weights, "biases": net.biases,
                                 "activations": net.activations, "dtype": net.dtype.name}
        return state

    def __setstate__(self, state):
        net = state.get("network_")
        if isinstance(net, dict):
            state["network_"] = Network.from_weights(net["weights"], net["biases"], net["activations"], net["dtype"])
        super().__setstate__(state)

    # ---- using ---------------------------------------------------------------------------------
    def _output(self, X):
        """The network's output activations (m, n_out) for validated X."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.network_._forward(X.astype(self.network_.dtype, copy=False))

    @property
    def coefs_(self):
        """sklearn's layout: ``coefs_[l]`` is (n_in, n_out), a transposed view of ``network_.weights[l]``."""
        check_is_fitted(self)
        return [W.T for W in self.network_.weights]

    @property
    def intercepts_(self):
        """``intercepts_[l]`` is (n_out,): the network's own bias arrays."""
        check_is_fitted(self)
        return list(self.network_.biases)

    def explain(self, x, y):
        """The explain ledger of one sample on the fitted network: a :class:`deltaprop.explain.Trace`.

        ``y`` is the raw target (a class label for the classifier). The ledger shows one plain
        gradient step of size ``learning_rate_init`` on a copy; the estimator is not changed.
        """
        X = self._output_input(x)
        Y = self._encode_y(self._one_target(y))
        return self.network_.explain(X[0], Y[0], loss=self._loss_name, lr=self.learning_rate_init, l2=self._l2)

    def _output_input(self, x):
        check_is_fitted(self)
        x = x if hasattr(x, "columns") else np.reshape(np.asarray(x), (1, -1))
        return validate_data(self, x, reset=False, dtype=(np.float64, np.float32))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier trained by deltaprop's backpropagation.

    Parameters mirror ``sklearn.neural_network.MLPClassifier`` (same names, same defaults); the
    differences are in ``docs/sklearn.md``. deltaprop's additions:

    activation : str or list of str
        "identity", "logistic" (or "sigmoid"), "tanh", "relu", "leaky_relu"; a list gives one per
        hidden layer.
    output_activation : None, "softmax" or "logistic"
        None: logistic for two classes and for multilabel targets, softmax otherwise. "softmax"
        on two classes uses two output neurons; "logistic" on k classes uses k independent outputs.
    loss : "log_loss" or "squared_error"
        log_loss is cross-entropy (softmax) or binary cross-entropy (logistic outputs).
    init : "glorot_uniform", "he_normal" or "uniform01" (see :class:`deltaprop.Network`).
    dtype : "float64" or "float32"
        The network's precision, kept end to end.

    ``fit(X, y, validation_data=(X_val, y_val))`` records ``validation_loss_curve_`` and
    ``validation_scores_`` each epoch, and early stopping (if on) watches that set.
    """

    _losses = ("log_loss", "squared_error")
    _task = "classification"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, output_activation=None, loss="log_loss",
                 init="glorot_uniform", dtype="float64"):
        _store(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), keeping the weights and the optimizer's state between calls.

        ``classes`` (every label that will ever appear) is required on the first call.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ConfigError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, incremental=True, classes=classes)

    # ---- targets -------------------------------------------------------------------------------
    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, dtype=(np.float64, np.float32))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return X, y

    def _setup_targets(self, y, classes):
        self._label_binarizer = LabelBinarizer().fit(y if classes is None else classes)
        self.classes_ = self._label_binarizer.classes_
        k, multilabel = len(self.classes_), self._label_binarizer.y_type_.startswith("multilabel")
        if k < 2:
            raise DataError(f"MLPClassifier needs at least 2 classes in y; received only one class: {self.classes_.tolist()[0]!r}")
        self._out_activation = self._output_activation(k, multilabel)
        # sklearn's layout: one logistic output for two classes, k outputs otherwise; softmax over
        # two classes needs both columns.
        self._two_column = k == 2 and self._out_activation == "softmax"
        self._n_out = 2 if self._two_column else (1 if k == 2 and not multilabel else k)
        self._loss_name = self._engine_loss()
        self._stratify = k == 2 and not multilabel  # as sklearn: only when its network has one output

    def _output_activation(self, k, multilabel):
        out = _engine_name(self.output_activation or ("sigmoid" if multilabel or k == 2 else "softmax"))
        if out not in ("softmax", "sigmoid"):
            raise ConfigError(f"a classifier's output_activation must be None, 'softmax' or 'logistic'; "
                              f"received {self.output_activation!r}")
        if multilabel and out == "softmax":
            raise ConfigError("multilabel targets need independent outputs: output_activation 'logistic', not 'softmax'")
        return out

    def _engine_loss(self):
        if self.loss == "squared_error":
            return "squared_error"
        return "cross_entropy" if self._out_activation == "softmax" else "binary_cross_entropy"

    def _check_same_classes(self, classes):
        if not np.array_equal(np.unique(classes), self.classes_):
            raise DataError(f"`classes={np.asarray(classes).tolist()!r}` is not the same as on the first call: "
                            f"{self.classes_.tolist()!r}")

    def _encode_y(self, y):
        """Labels to the network's targets: one-hot rows, one 0/1 column (two classes), or indicators."""
        unknown = np.setdiff1d(np.unique(y), self.classes_) if np.ndim(y) == 1 else []
        if len(unknown):
            raise DataError(f"y holds labels the classifier was not set up with: {unknown.tolist()[:5]!r}; "
                            f"classes_ = {self.classes_.tolist()!r}")
        Y = self._label_binarizer.transform(y)
        return np.hstack([1 - Y, Y]) if self._two_column else Y

    def _check_y_val(self, y):
        y = np.asarray(y)
        return column_or_1d(y) if y.ndim == 2 and y.shape[1] == 1 else y

    def _one_target(self, y):
        return np.asarray([y]) if np.ndim(y) == 0 else np.asarray(y).reshape(1, -1)

    def _decode(self, A):
        """Network outputs to labels: argmax, or a 0.5 threshold for logistic outputs."""
        if self._two_column:
            A = A[:, 1:]
        return self._label_binarizer.inverse_transform(A.ravel() if A.shape[1] == 1 else A)

    def _score_output(self, A, y):
        return accuracy_score(y, self._decode(A))

    # ---- predicting ----------------------------------------------------------------------------
    def predict(self, X):
        """Predicted labels, shape (m,) (or (m, k) indicators for multilabel targets)."""
        return self._decode(self._output(X))

    def predict_proba(self, X):
        """Class probabilities (m, n_classes); rows sum to 1 except for multilabel targets.

        With logistic outputs over k >= 3 classes the k outputs are independent scores, so each
        row is divided by its sum.
        """
        A = self._output(X)
        if A.shape[1] == 1:
            return np.hstack([1 - A, A])
        if self._out_activation == "sigmoid" and self._label_binarizer.y_type_ == "multiclass":
            return A / np.maximum(A.sum(axis=1, keepdims=True), np.finfo(A.dtype).tiny)
        return A

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor trained by deltaprop's backpropagation.

    Parameters mirror ``sklearn.neural_network.MLPRegressor`` (same names, same defaults); the
    differences are in ``docs/sklearn.md``. deltaprop's additions: ``activation`` may list one name
    per hidden layer; ``output_activation`` (default "identity"; any hidden activation name, e.g.
    "logistic" for targets in (0, 1)); ``init``; ``dtype``; and ``fit(..., validation_data=...)``.
    """

    _losses = ("squared_error",)
    _task = "regression"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, output_activation=None,
                 init="glorot_uniform", dtype="float64"):
        _store(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def partial_fit(self, X, y):
        """One epoch over (X, y), keeping the weights and the optimizer's state between calls."""
        return self._fit(X, y, incremental=True)

    def _validate(self, X, y, reset):
        return validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32))

    def _setup_targets(self, y, classes):
        if self.output_activation == "softmax":
            raise ConfigError("a regressor's outputs are independent values: "
                              "output_activation 'softmax' is for classifiers")
        out = _activation("output_activation", self.output_activation or "identity")
        self._out_activation, self._loss_name, self._stratify = out, "squared_error", False
        self._n_out = 1 if y.ndim == 1 else y.shape[1]

    def _encode_y(self, y):
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if Y.shape[1] != self._n_out:
            raise DataError(f"expected y with {self._n_out} output(s); received {Y.shape[1]}")
        return Y

    def _check_y_val(self, y):
        return np.asarray(y, dtype=np.float64)

    def _one_target(self, y):
        return np.asarray(y, dtype=np.float64).reshape(1, -1)

    def _score_output(self, A, y):
        return r2_score(y, A.ravel() if A.shape[1] == 1 else A)

    def predict(self, X):
        """Predicted values, shape (m,) for one output or (m, n_outputs)."""
        A = self._output(X)
        return A.ravel() if A.shape[1] == 1 else A
