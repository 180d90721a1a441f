"""The scikit-learn estimators: sklearn's own conformance suite, numbers against independent
references (a NumPy forward pass written here, sklearn's fitted MLP), and search that scales out."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import deltaprop as dp  # noqa: E402
from deltaprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# check_estimator skips these by itself; it skips them for sklearn's own MLPs too (docs/sklearn.md).
SKIPPED_BY_SKLEARN = {
    "check_array_api_input",  # runs only with SCIPY_ARRAY_API=1 and an array-API estimator
    "check_classifiers_multilabel_output_format_decision_function",  # no decision_function
}


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def relu(z):
    return np.maximum(z, 0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward_by_hand(X, coefs, intercepts, hidden, out):
    """sklearn's forward pass in its own layout: a = f(a @ W + b), W of shape (n_in, n_out)."""
    a = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        a = hidden(a @ W + b)
    return out(a @ coefs[-1] + intercepts[-1])


def quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# ---- sklearn's conformance suite --------------------------------------------------------------
@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()], ids=lambda e: type(e).__name__)
def test_check_estimator_passes_with_default_settings(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, on_skip=None)
    failed = [f"{r['check_name']}: {r['exception']!r}" for r in results if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed, "\n".join(failed)
    assert skipped <= SKIPPED_BY_SKLEARN
    assert sum(r["status"] == "passed" for r in results) >= 50


def test_import_deltaprop_does_not_import_sklearn():
    code = "import sys, deltaprop; assert 'sklearn' not in sys.modules, 'sklearn was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_sklearn_names_the_extra_to_install():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import deltaprop.sklearn\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "pip install 'deltaprop[sklearn]'" in out


# ---- the fitted model against independent references ---------------------------------------------
def test_coefs_are_the_network_weights_in_sklearns_layout(iris):
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(6, 5), max_iter=5, random_state=0), X, y)
    ref = quiet_fit(SklearnMLPClassifier(hidden_layer_sizes=(6, 5), max_iter=5, random_state=0), X, y)
    assert [c.shape for c in clf.coefs_] == [c.shape for c in ref.coefs_] == [(4, 6), (6, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [b.shape for b in ref.intercepts_]
    for c, W, i, b in zip(clf.coefs_, clf.network_.weights, clf.intercepts_, clf.network_.biases):
        np.testing.assert_array_equal(c, W.T)
        assert np.shares_memory(c, W) and i is b  # views: editing coefs_ edits the network
    assert (clf.n_layers_, clf.n_outputs_, clf.out_activation_) == (ref.n_layers_, ref.n_outputs_, ref.out_activation_)


def test_sklearns_weights_give_sklearns_probabilities(iris):
    X, y = iris
    ref = quiet_fit(SklearnMLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=1), X, y)
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0), X, y)
    for ours, theirs in zip(clf.coefs_ + clf.intercepts_, ref.coefs_ + ref.intercepts_):
        ours[...] = theirs
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_predict_proba_is_the_forward_pass_by_hand(iris):
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(7,), max_iter=20, random_state=0), X, y)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P, forward_by_hand(X, clf.coefs_, clf.intercepts_, relu, softmax), rtol=1e-12)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[P.argmax(axis=1)])


def test_two_classes_use_one_logistic_output_like_sklearn(iris):
    X, y = iris
    labels = np.where(y == 0, "setosa", "other")
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0), X, labels)
    assert clf.coefs_[-1].shape == (5, 1) and clf.out_activation_ == "logistic"
    p = forward_by_hand(X, clf.coefs_, clf.intercepts_, relu, lambda z: 1 / (1 + np.exp(-z)))[:, 0]
    np.testing.assert_allclose(clf.predict_proba(X), np.column_stack([1 - p, p]), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), np.where(p > 0.5, clf.classes_[1], clf.classes_[0]))


def test_softmax_over_two_classes_uses_two_outputs(iris):
    X, y = iris
    labels = np.where(y == 0, "setosa", "other")
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), output_activation="softmax", max_iter=30,
                                  random_state=0), X, labels)
    assert clf.coefs_[-1].shape == (5, 2) and clf.out_activation_ == "softmax"
    P = forward_by_hand(X, clf.coefs_, clf.intercepts_, relu, softmax)  # column j is classes_[j]
    np.testing.assert_allclose(clf.predict_proba(X), P, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(P[:, 1] > 0.5).astype(int)])


def test_loss_curve_is_the_training_loss_recomputed_with_sklearns_alpha(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(5,), alpha=2.0, batch_size=50, max_iter=4, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        clf.fit(X, y)
    P = clf.predict_proba(X)
    cross_entropy = -np.log(P[np.arange(len(y)), y]).mean()
    # sklearn: alpha / (2 * batch size) * sum of squared weights, added to the batch's mean loss
    penalty = 2.0 / (2 * 50) * sum((W ** 2).sum() for W in clf.coefs_)
    assert clf.loss_curve_[-1] == pytest.approx(cross_entropy + penalty, rel=1e-12)
    assert clf.n_iter_ == len(clf.loss_curve_) == 4 and clf.t_ == 4 * len(X)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


def test_squared_error_on_logistic_outputs_the_seeds_setting(iris):
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), activation="logistic", output_activation="logistic",
                                  loss="squared_error", max_iter=3, alpha=0.0, random_state=0), X, y)
    assert clf.network_.activations == ["sigmoid", "sigmoid"]
    A = clf.network_.forward(X)
    by_hand = 0.5 * ((A - np.eye(3)[y]) ** 2).sum(axis=1).mean()
    assert clf.loss_curve_[-1] == pytest.approx(by_hand, rel=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X), A / A.sum(axis=1, keepdims=True), rtol=1e-12)


def test_one_activation_per_hidden_layer(iris):
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(6, 4), activation=["tanh", "relu"], max_iter=5,
                                  random_state=0), X, y)
    assert clf.network_.activations == ["tanh", "relu", "softmax"]
    W, b = clf.coefs_, clf.intercepts_
    by_hand = softmax(relu(np.tanh(X @ W[0] + b[0]) @ W[1] + b[1]) @ W[2] + b[2])
    np.testing.assert_allclose(clf.predict_proba(X), by_hand, rtol=1e-12)


def test_validation_data_curves_and_early_stopping_keeps_the_best_epoch(iris):
    X, y = iris
    train, val = np.arange(len(y)) % 3 != 0, np.arange(len(y)) % 3 == 0
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), early_stopping=True, n_iter_no_change=3,
                                  learning_rate_init=0.05, max_iter=200, random_state=0),
                    X[train], y[train], validation_data=(X[val], y[val]))
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == len(clf.loss_curve_) == clf.n_iter_
    best = int(np.argmax(clf.validation_scores_))
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(X[val], y[val]) == pytest.approx(clf.best_validation_score_)  # weights of the best epoch
    P = clf.predict_proba(X[val])
    penalty = clf.alpha / (2 * 100) * sum((W ** 2).sum() for W in clf.coefs_)
    val_loss = -np.log(P[np.arange(val.sum()), y[val]]).mean() + penalty
    assert clf.validation_loss_curve_[best] == pytest.approx(val_loss, rel=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_early_stopping_stratifies_its_hold_out_as_sklearn_does(k, monkeypatch):
    # sklearn stratifies the validation_fraction hold-out only when its network has one output
    # (two classes); 20 rows of 3 classes leave 2 rows for validation, too few to stratify.
    import sklearn.neural_network._multilayer_perceptron as theirs
    from deltaprop import sklearn as ours
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 2)), np.arange(20) % k
    asked = {}  # estimator class -> the stratify argument its hold-out was drawn with

    def recording(split, cls):
        def train_test_split(*args, **kwargs):
            asked[cls] = kwargs["stratify"]
            return split(*args, **kwargs)
        return train_test_split

    for module, cls in ((theirs, SklearnMLPClassifier), (ours, MLPClassifier)):
        monkeypatch.setattr(module, "train_test_split", recording(module.train_test_split, cls))
        quiet_fit(cls(hidden_layer_sizes=(3,), early_stopping=True, max_iter=3, random_state=0), X, y)
    assert (asked[MLPClassifier] is None) == (asked[SklearnMLPClassifier] is None) == (k == 3)


def test_iris_accuracy_within_one_point_of_sklearn(iris):
    X, y = iris
    settings = dict(hidden_layer_sizes=(20,), learning_rate_init=0.01, max_iter=300)
    ours, theirs = [], []
    for seed in range(10):  # 50 folds: one fold of 30 rows alone moves the mean by 3 points
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours += list(cross_val_score(MLPClassifier(random_state=seed, **settings), X, y, cv=folds))
            theirs += list(cross_val_score(SklearnMLPClassifier(random_state=seed, **settings), X, y, cv=folds))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01 + 1e-12, (np.mean(ours), np.mean(theirs))


# ---- incremental training --------------------------------------------------------------------
def test_partial_fit_epochs_equal_fit_epochs(iris):
    X, y = iris
    settings = dict(hidden_layer_sizes=(5,), shuffle=False, random_state=0)
    full = quiet_fit(MLPClassifier(max_iter=3, **settings), X, y)
    step = MLPClassifier(**settings)
    for _ in range(3):
        step.partial_fit(X, y, classes=[0, 1, 2])
    assert step.n_iter_ == 1 and step._optimizer.t == 3  # one epoch of one batch per call, Adam kept
    for a, b in zip(step.coefs_ + step.intercepts_, full.coefs_ + full.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(step.loss_curve_, full.loss_curve_)


def test_partial_fit_needs_classes_first_and_refuses_early_stopping(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_warm_start_continues_from_the_fitted_weights(iris):
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, warm_start=True, random_state=0), X, y)
    first = [c.copy() for c in clf.coefs_]
    quiet_fit(clf, X, y)
    assert len(clf.loss_curve_) == 6 and clf.n_iter_ == 3
    cold = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0), X, y)
    np.testing.assert_array_equal(cold.coefs_[0], first[0])  # the same first fit...
    assert not np.array_equal(clf.coefs_[0], first[0])  # ...and the second one moved on from it
    quiet_fit(clf, X, y, validation_data=(X[::2], y[::2]))  # a third fit, now with validation data
    assert len(clf.validation_scores_) == 3 and len(clf.loss_curve_) == 9
    assert clf.validation_scores_[-1] == clf.score(X[::2], y[::2])


# ---- the regressor ---------------------------------------------------------------------------
def test_regressor_forward_pass_and_loss_by_hand():
    X, Y = make_regression(n_samples=80, n_features=3, n_targets=2, noise=0.1, random_state=0)
    Y = Y / Y.std(axis=0)
    reg = quiet_fit(MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0), X, Y)
    pred = forward_by_hand(X, reg.coefs_, reg.intercepts_, relu, lambda z: z)
    np.testing.assert_allclose(reg.predict(X), pred, rtol=1e-12)
    # deltaprop's squared error sums the outputs of a sample: 1/2 sum_j (a_j - y_j)^2, then the mean
    penalty = reg.alpha / (2 * 80) * sum((W ** 2).sum() for W in reg.coefs_)
    assert reg.loss_curve_[-1] == pytest.approx(0.5 * ((pred - Y) ** 2).sum(axis=1).mean() + penalty, rel=1e-12)


def test_regressor_learns_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (300, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    reg = quiet_fit(MLPRegressor(hidden_layer_sizes=(30,), activation=["tanh"], learning_rate_init=0.01,
                                 max_iter=300, random_state=0), X, y)
    assert reg.predict(X).shape == (300,) and reg.score(X, y) > 0.95


# ---- the sklearn world ------------------------------------------------------------------------
def test_feature_names_and_pickle(iris):
    pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0), X, y)
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == 4
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.network_.activations == clf.network_.activations
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.iloc[:, :3])


def test_pipeline_and_cross_val_score(iris):
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01,
                                                          max_iter=200, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    assert scores.shape == (5,) and scores.mean() > 0.9


def test_settings_sklearn_has_and_deltaprop_does_not_are_refused(iris):
    X, y = iris
    for bad, match in ((dict(solver="lbfgs"), "solver"), (dict(learning_rate="invscaling"), "learning_rate"),
                       (dict(loss="poisson"), "loss"), (dict(output_activation="relu"), "output_activation"),
                       (dict(hidden_layer_sizes=(3, 0)), "hidden_layer_sizes")):
        with pytest.raises(ValueError, match=match):
            MLPClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError, match="softmax"):
        MLPRegressor(output_activation="softmax").fit(X, y)


NAMES = "expected one of: identity, logistic, tanh, relu, leaky_relu, sigmoid"


@pytest.mark.parametrize("make, words", [
    (lambda: MLPClassifier(activation="sigmod"), "unknown activation 'sigmod'; " + NAMES),
    (lambda: MLPClassifier(activation="softmax"), "activation 'softmax' is for a classifier's output, not a hidden layer; " + NAMES),
    (lambda: MLPClassifier(hidden_layer_sizes=(3, 3), activation=["tanh", "softmax"]), "activation 'softmax' is for"),
    (lambda: MLPRegressor(output_activation="sigmod"), "unknown output_activation 'sigmod'; " + NAMES),
])
def test_activation_names_are_the_ones_the_estimators_accept(iris, make, words):
    # softmax normalizes a whole layer, so as a hidden activation it was a silent surprise
    X, y = iris
    with pytest.raises(dp.ConfigError) as info:
        make().fit(X, y)
    assert words in str(info.value)


def test_unknown_labels_are_shown_as_plain_values(iris):
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    expected = "y holds labels the classifier was not set up with: [7]; classes_ = [0, 1, 2]"
    with pytest.raises(dp.DataError) as info:
        clf.explain(X[0], 7)
    assert str(info.value) == expected
    with pytest.raises(dp.DataError, match=r"with: \[5, 6\]; classes_ = \[0, 1, 2\]$"):
        MLPClassifier(max_iter=2).fit(X, y, validation_data=(X[:60], y[:60] + 5))
    with pytest.raises(dp.DataError, match=r"^`classes=\[0, 1, 2, 3\]` is not the same as on the first call: \[0, 1, 2\]$"):
        MLPClassifier().partial_fit(X, y, classes=np.array([0, 1, 2])).partial_fit(X, y, classes=np.array([0, 1, 2, 3]))


def test_explain_ledger_of_a_fitted_classifier(iris):
    pytest.importorskip("deltaprop.explain")
    X, y = iris
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0), X, y)
    trace = clf.explain(X[60], y[60])
    p = clf.predict_proba(X[60:61])[0]
    np.testing.assert_array_equal(trace.x, X[60])
    np.testing.assert_array_equal(trace.y, np.eye(3)[y[60]])
    np.testing.assert_allclose(trace.layers[-1].a, p, rtol=1e-12)
    np.testing.assert_allclose(trace.layers[-1].delta, p - np.eye(3)[y[60]], rtol=1e-12)  # softmax + CE: a - y
    assert trace.lr == clf.learning_rate_init and trace.loss == "cross_entropy"


# ---- search that scales out: local, joblib processes, Dask ------------------------------------------
GRID = {"hidden_layer_sizes": [(3,), (12,)], "alpha": [1e-4, 1.0]}


def grid_search(n_jobs):
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), MLPClassifier(learning_rate_init=0.02, max_iter=60, random_state=0))
    grid = {f"mlpclassifier__{k}": v for k, v in GRID.items()}
    search = GridSearchCV(model, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0), n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


@pytest.fixture(scope="module")
def local_search():
    return grid_search(n_jobs=None)


def test_grid_search_in_joblib_processes_matches_local(local_search):
    processes = grid_search(n_jobs=2)
    assert processes.best_params_ == local_search.best_params_
    np.testing.assert_array_equal(processes.cv_results_["mean_test_score"], local_search.cv_results_["mean_test_score"])


def test_grid_search_on_a_dask_cluster_matches_local(local_search):
    pytest.importorskip("distributed")
    import joblib
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            on_dask = grid_search(n_jobs=-1)
        workers = client.run(lambda: "deltaprop.sklearn" in sys.modules)
    assert len(workers) == 2 and any(workers.values())  # the fits ran in the worker processes
    assert on_dask.best_params_ == local_search.best_params_
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"], local_search.cv_results_["mean_test_score"])
