"""The engine against hand-worked numbers, the seeds' explicit sums and finite differences."""
import math
import zlib
import warnings

import numpy as np
import pytest

import deltaprop as dp

VALID_PAIRS = [
    ("sigmoid", "squared_error"), ("sigmoid", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
    ("softmax", "squared_error"), ("softmax", "cross_entropy"),
    ("tanh", "squared_error"), ("relu", "squared_error"), ("leaky_relu", "squared_error"),
    ("identity", "squared_error"),
]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_lee_lecture_forward_pass_matches_the_slides(lee):
    out = lee.forward([1, -1])
    np.testing.assert_array_equal(np.round(lee.layers[0].a, 2), [[0.98, 0.12]])
    np.testing.assert_array_equal(np.round(lee.layers[1].a, 2), [[0.86, 0.11]])
    np.testing.assert_array_equal(np.round(out, 2), [[0.62, 0.83]])
    # z of the first layer by hand: 1*1 + (-2)(-1) + 1 = 4 and (-1)(1) + 1(-1) + 0 = -2
    np.testing.assert_array_equal(lee.layers[0].z, [[4.0, -2.0]])
    assert lee.layers[0].a[0, 0] == pytest.approx(sigmoid(4), abs=1e-15)


def test_lee_lecture_gradients_match_finite_differences(lee):
    for target in ([0.0, 1.0], [1.0, 0.0]):
        report = dp.gradcheck(lee, [[1, -1]], [target])
        assert report.ok, str(report)
        assert len(report.rows) == 6


def test_lee_gradient_by_hand_for_the_last_layer(lee):
    y = np.array([[0.0, 1.0]])
    (dW1, db1), (dW2, db2), (dW3, db3) = lee.gradients([[1, -1]], y)
    a2, a3 = lee.layers[1].a[0], lee.layers[2].a[0]
    # case 1 of the lecture: dC/dz = sigma'(z) dC/dy with C = 1/2 ||y_hat - y||^2
    delta3 = a3 * (1 - a3) * (a3 - y[0])
    np.testing.assert_allclose(db3, delta3, rtol=1e-14)
    np.testing.assert_allclose(dW3, np.outer(delta3, a2), rtol=1e-14)  # dC/dw = a * dC/dz


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    # seed 02's exercise: d/dz 1/(1+e^-z) = sigma(z)(1 - sigma(z)), checked numerically
    act = dp.get_activation("sigmoid")
    z = np.linspace(-8, 8, 33)
    a = act(z)
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, a), numeric, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(act.derivative(z, a), a * (1 - a), rtol=0)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
def test_elementwise_derivatives_match_finite_differences(name):
    act = dp.get_activation(name)
    z = np.array([-3.0, -1.2, -0.3, 0.4, 1.1, 2.5])  # away from the ReLU kink
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, act(z)), numeric, rtol=1e-7, atol=1e-9)


def test_softmax_backward_is_the_full_jacobian_vector_product(rng):
    act = dp.get_activation("softmax")
    z = rng.normal(size=(3, 4))
    g = rng.normal(size=(3, 4))
    a = act(z)
    for i in range(3):
        J = np.diag(a[i]) - np.outer(a[i], a[i])  # J_jk = da_j/dz_k
        np.testing.assert_allclose(act.backward(z, a, g)[i], J.T @ g[i], rtol=1e-12)


def _random_case(rng, depth, m, out_act, loss, hidden_cycle):
    sizes = [3] + [4 - (l % 2) for l in range(depth - 1)] + [3]
    hidden = [hidden_cycle[(l + depth) % len(hidden_cycle)] for l in range(depth - 1)]
    net = dp.Network(sizes, activation=hidden, output_activation=out_act, seed=int(rng.integers(1000)))
    for layer in net.layers:  # non-zero biases so that db is a real test
        layer.b[:] = rng.normal(scale=0.5, size=layer.b.shape)
    X = rng.normal(size=(m, 3))
    # Finite differences are meaningless across a ReLU kink: keep every z at least 0.01 from 0.
    while True:
        net.forward(X)
        if all(np.abs(layer.z).min() > 0.01 for layer in net.layers if layer.activation.name.endswith("relu")):
            break
        X = rng.normal(size=(m, 3))
    if loss == "squared_error":
        Y = rng.normal(size=(m, 3))
    else:
        Y = rng.random((m, 3))
        Y /= Y.sum(axis=1, keepdims=True)
    return net, X, Y


@pytest.mark.parametrize("out_act,loss", VALID_PAIRS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("m", [1, 5])
@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_gradients_match_finite_differences(out_act, loss, depth, m, l2):
    rng = np.random.default_rng(zlib.crc32(f"{out_act}{loss}{depth}{m}".encode()))
    net, X, Y = _random_case(rng, depth, m, out_act, loss, HIDDEN)
    report = dp.gradcheck(net, X, Y, loss=loss, l2=l2)
    assert report.ok, f"{out_act}+{loss} depth {depth} m {m} l2 {l2}\n{report}"


@pytest.mark.parametrize("out_act,loss", [("sigmoid", "cross_entropy"), ("sigmoid", "binary_cross_entropy")])
def test_one_hot_targets_for_the_cross_entropies(out_act, loss, rng):
    net = dp.Network([4, 6, 3], activation="tanh", output_activation=out_act, seed=3)
    X = rng.normal(size=(7, 4))
    Y = np.eye(3)[rng.integers(0, 3, 7)]
    assert dp.gradcheck(net, X, Y, loss=loss).ok


@pytest.mark.parametrize("out_act,loss", [("softmax", "binary_cross_entropy"), ("relu", "cross_entropy"),
                                          ("tanh", "binary_cross_entropy"), ("identity", "cross_entropy")])
def test_pairs_whose_loss_is_undefined_or_unstable_are_refused(out_act, loss):
    """Cross-entropies take log a (and log(1 - a)): outputs must lie in (0, 1), and binary
    cross-entropy treats each output as its own yes/no probability, which softmax outputs are not
    (log(1 - a) of a saturated softmax output is -inf)."""
    net = dp.Network([2, 3], output_activation=out_act, seed=0)
    with pytest.raises(dp.ConfigError, match=f"loss '{loss}'") as info:
        net.fit([[0.0, 1.0], [1.0, 0.0]], [[0, 1, 0], [1, 0, 0]], loss=loss, epochs=1, verbose=0)
    assert "\n" not in str(info.value) and f"received output activation '{out_act}'" in str(info.value)


def test_loss_values_by_hand():
    net = dp.Network.from_weights([[[1.0], [-1.0]]], [[0.0, 0.0]], "identity")
    X, Y = np.array([[2.0], [1.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])
    # C_1 = 1/2((2-1)^2 + (-2-0)^2) = 2.5; C_2 = 1/2(1 + 1) = 1; mean 1.75
    assert net.loss(X, Y) == pytest.approx(1.75, abs=1e-15)
    # L2 adds lambda/2 (1 + 1) = 0.1 for lambda = 0.1; biases are not penalised
    assert net.loss(X, Y, l2=0.1) == pytest.approx(1.85, abs=1e-15)
    soft = dp.Network.from_weights([[[1.0], [-1.0]]], [[0.0, 0.0]], ["softmax"])
    a = np.exp([2.0, -2.0]) / np.exp([2.0, -2.0]).sum()
    assert soft.loss([[2.0]], [[0.0, 1.0]], loss="cross_entropy") == pytest.approx(-math.log(a[1]), rel=1e-14)
    sig = dp.Network.from_weights([[[1.0]]], [[0.0]], ["sigmoid"])
    s = sigmoid(0.3)
    expected = -(0.2 * math.log(s) + 0.8 * math.log(1 - s))
    assert sig.loss([[0.3]], [[0.2]], loss="binary_cross_entropy") == pytest.approx(expected, rel=1e-14)


def _explicit_deltas(weights, biases, x, y):
    """Seed 05's per-index sums, one sample, sigmoid everywhere, C = 1/2 sum_j (a_j - y_j)^2."""
    a = [list(x)]
    zs = []
    for W, b in zip(weights, biases):
        z = [sum(W[j][k] * a[-1][k] for k in range(len(a[-1]))) + b[j] for j in range(len(W))]
        zs.append(z)
        a.append([sigmoid(v) for v in z])
    L = len(weights)
    dC_da = [a[L][j] - y[j] for j in range(len(y))]  # dL/da_j = a_j - y_j
    deltas = [None] * L
    for l in range(L - 1, -1, -1):
        deltas[l] = [dC_da[j] * a[l + 1][j] * (1 - a[l + 1][j]) for j in range(len(dC_da))]
        # dL/da_k^(l-1) = sum_j dL/da_j sigma'(z_j) w_jk
        dC_da = [sum(deltas[l][j] * weights[l][j][k] for j in range(len(deltas[l])))
                 for k in range(len(weights[l][0]))]
    grads_W = [[[deltas[l][j] * a[l][k] for k in range(len(a[l]))] for j in range(len(deltas[l]))] for l in range(L)]
    return deltas, grads_W


def test_vectorized_delta_equals_seed05_explicit_sums(rng):
    net = dp.Network([4, 4, 3, 2], activation="sigmoid", init="uniform01", seed=5)
    X = rng.random((6, 4))
    Y = rng.random((6, 2))
    net.gradients(X, Y)
    deltas_batch = [layer.delta for layer in net.layers]
    dW_batch = [layer.dW for layer in net.layers]
    W = [w.tolist() for w in net.weights]
    b = [v.tolist() for v in net.biases]
    sums = [np.zeros_like(d) for d in dW_batch]
    for i in range(6):
        deltas, grads_W = _explicit_deltas(W, b, X[i], Y[i])
        for l in range(3):
            # the engine's delta is dC/dz of the batch mean, so it carries the 1/n of seed 05
            np.testing.assert_allclose(deltas_batch[l][i] * 6, deltas[l], rtol=1e-12)
            sums[l] += np.array(grads_W[l]) / 6
    for l in range(3):
        np.testing.assert_allclose(dW_batch[l], sums[l], rtol=1e-12)


def test_fused_paths_are_stable_for_huge_z():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        soft = dp.Network.from_weights([[[1000.0], [-1000.0], [0.0]]], [[0, 0, 0]], ["softmax"])
        C = soft.loss([[1.0]], [[0.0, 1.0, 0.0]], loss="cross_entropy")
        assert C == pytest.approx(2000.0, rel=1e-12)
        ((dW, db),) = soft.gradients([[1.0]], [[0.0, 1.0, 0.0]], loss="cross_entropy")
        np.testing.assert_allclose(db, [1.0, -1.0, 0.0], atol=1e-300)
        sig = dp.Network.from_weights([[[1000.0], [-1000.0]]], [[0, 0]], ["sigmoid"])
        C = sig.loss([[1.0]], [[0.0, 1.0]], loss="binary_cross_entropy")
        assert C == pytest.approx(2000.0, rel=1e-12)
        ((dW, db),) = sig.gradients([[1.0]], [[0.0, 1.0]], loss="binary_cross_entropy")
        np.testing.assert_allclose(db, [1.0, -1.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_end_to_end(dtype, rng):
    net = dp.Network([5, 8, 3], activation="relu", output_activation="softmax", seed=0, dtype=dtype)
    X = rng.normal(size=(4, 5))
    Y = np.eye(3)[[0, 1, 2, 1]]
    grads = net.gradients(X, Y, loss="cross_entropy", l2=0.01)
    for layer, (dW, db) in zip(net.layers, grads):
        for arr in (layer.z, layer.a, layer.delta, dW, db, layer.W, layer.b):
            assert arr.dtype == np.dtype(dtype)
    net.train_step(X, Y, dp.Adam(0.01), loss="cross_entropy")
    assert all(w.dtype == np.dtype(dtype) for w in net.weights)


def test_float32_gradients_agree_with_float64(rng):
    net64 = dp.Network([5, 8, 3], activation="tanh", output_activation="softmax", seed=0)
    net32 = net64.astype("float32")
    X, Y = rng.normal(size=(16, 5)), np.eye(3)[rng.integers(0, 3, 16)]
    for (a, b), (c, d) in zip(net64.gradients(X, Y, "cross_entropy"), net32.gradients(X, Y, "cross_entropy")):
        np.testing.assert_allclose(c, a, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(d, b, rtol=1e-4, atol=1e-6)


def test_initializers_are_reproducible_and_have_the_documented_ranges():
    a = dp.Network([4, 50, 30], init="uniform01", seed=7)
    b = dp.Network([4, 50, 30], init="uniform01", seed=7)
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)
    assert all((w >= 0).all() and (w < 1).all() for w in a.weights + a.biases)
    # uniform01 draws neuron by neuron, inputs then bias, like the seed's random.random() loop
    draws = np.random.default_rng(7).random((50, 5))
    np.testing.assert_array_equal(a.weights[0], draws[:, :4])
    np.testing.assert_array_equal(a.biases[0], draws[:, 4])
    g = dp.Network([200, 300, 10], init="glorot_uniform", seed=1)
    limit = math.sqrt(6 / 500)
    assert np.abs(g.weights[0]).max() <= limit and np.abs(g.weights[0]).max() > 0.95 * limit
    assert not g.biases[0].any()
    h = dp.Network([400, 300, 10], init="he_normal", seed=1)
    assert h.weights[0].std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert dp.Network([4, 5, 3], seed=1).weights[0].tolist() != dp.Network([4, 5, 3], seed=2).weights[0].tolist()


def test_freeze_holds_parameters_fixed(rng):
    net = dp.Network([3, 4, 2], seed=0).freeze(params="b")
    b0 = [b.copy() for b in net.biases]
    w0 = [w.copy() for w in net.weights]
    net.train_step(rng.normal(size=(5, 3)), rng.random((5, 2)), dp.SGD(0.5))
    for before, after in zip(b0, net.biases):
        np.testing.assert_array_equal(before, after)
    assert any((before != after).any() for before, after in zip(w0, net.weights))


def test_from_weights_copies_and_accepts_scalar_biases():
    W = np.array([[0.15, 0.20], [0.25, 0.30]])
    net = dp.Network.from_weights([W], [0.35], "sigmoid")
    np.testing.assert_array_equal(net.biases[0], [0.35, 0.35])
    net.weights[0][0, 0] = 9
    assert W[0, 0] == 0.15


def test_backward_checks_y_against_the_last_forward_pass(rng):
    net = dp.Network([3, 4, 2], seed=0)
    X, Y = rng.normal(size=(5, 3)), rng.random((5, 2))
    net.forward(X)
    with pytest.raises(dp.ShapeError, match=r"expected Y of shape \(5, 2\); received \(4, 2\)"):
        net.backward(Y[:4])
    assert net.loss(X, Y, l2=np.int64(0)) == net.loss(X, Y)  # a NumPy zero is a valid l2


def test_sizes_and_layer_numbers_may_be_numpy_integers():
    assert dp.Network(np.array([4, 5, 3])).sizes == [4, 5, 3]
    net = dp.Network([4, 5, 3, 2]).freeze(layers=np.int64(2), params="W").freeze(layers=np.array([3]), params=["b"])
    assert [layer.frozen for layer in net.layers] == [set(), {"W"}, {"b"}]


# ---- bad configuration: a clear one-line message with what was expected and received ----------
@pytest.mark.parametrize("call,words", [
    (lambda: dp.Network([4, 5, 3], activation="sigmod"), ["unknown activation 'sigmod'", "sigmoid", "softmax"]),
    (lambda: dp.Network([4, 3], output_activation="relu").loss(np.ones((1, 4)), np.ones((1, 3)), loss="mse"),
     ["unknown loss 'mse'", "squared_error", "cross_entropy"]),
    (lambda: dp.Network([4, 3], output_activation="relu").loss(np.ones((1, 4)), np.ones((1, 3)), loss="cross_entropy"),
     ["needs outputs in (0, 1)", "'relu'"]),
    (lambda: dp.Network([4, 3], output_activation="identity").gradients(np.ones((1, 4)), np.ones((1, 3)), loss="binary_cross_entropy"),
     ["needs outputs in (0, 1)", "'identity'"]),
    (lambda: dp.Network([4, 0, 3]), ["positive integer", "[4, 0, 3]"]),
    (lambda: dp.Network([4, -2, 3]), ["positive integer"]),
    (lambda: dp.Network([4]), ["at least 2"]),
    (lambda: dp.Network([4, 3], init="zeros"), ["unknown initializer 'zeros'", "glorot_uniform", "he_normal", "uniform01"]),
    (lambda: dp.Network([4, 3]).forward(np.ones((2, 5))), ["expected X of shape (m, 4)", "(2, 5)"]),
    (lambda: dp.Network([4, 3]).forward(np.array([[1, 2, np.nan, 4.0]])), ["NaN or inf"]),
    (lambda: dp.Network([4, 3]).gradients(np.ones((2, 4)), np.ones((2, 2))), ["expected Y of shape (2, 3)", "(2, 2)"]),
    (lambda: dp.Network.from_weights([np.ones((2, 3)), np.ones((2, 3))], [np.zeros(2), np.zeros(2)], "sigmoid"),
     ["layer 2", "2 columns", "(2, 3)"]),
    (lambda: dp.Network.from_weights([np.ones((2, 3))], [np.zeros(3)], "sigmoid"), ["bias of shape (2,)", "(3,)"]),
    (lambda: dp.SGD(0), ["learning_rate", "received 0"]),
    (lambda: dp.SGD(float("nan")), ["learning_rate"]),
    (lambda: dp.Adam(0.1, beta1=1.0), ["beta1", "received 1.0"]),
    (lambda: dp.get_optimizer("rmsprop"), ["unknown optimizer 'rmsprop'", "adam", "nesterov"]),
    (lambda: dp.Network([4, 3], dtype="float16"), ["unknown dtype 'float16'", "float32"]),
    (lambda: dp.Network([4, 3], seed=-1), ["seed must be a non-negative integer", "-1"]),
    (lambda: dp.Network([4, 3, 2], activation=None), ["unknown activation None", "sigmoid, softmax, tanh"]),
    (lambda: dp.Network([4, 3, 1], output_activation="softmax"), ["layer 2: softmax over a single neuron", "'sigmoid'"]),
    (lambda: dp.Network([4, 1, 2], activation="softmax"), ["layer 1: softmax over a single neuron"]),
    (lambda: dp.Network.from_weights([np.ones((1, 2))], [0.0], "softmax"), ["layer 1: softmax over a single neuron"]),
    (lambda: dp.Network.from_weights([np.ones((2, 2, 2))], [np.zeros(2)], "sigmoid"), ["(n_out, n_in)", "(2, 2, 2)"]),
    (lambda: dp.Network.from_weights([np.ones((0, 2))], [np.zeros(0)], "sigmoid"), ["(n_out, n_in)", "(0, 2)"]),
    (lambda: dp.Network([4, 3]).forward([[1, 2, 3, 4], [1, 2]]), ["X must be a rectangular array", "different lengths"]),
    (lambda: dp.Network([2, 2]).loss(np.ones((2, 2)), [[1, 0], [1]]), ["Y must be a rectangular array"]),
    (lambda: dp.Network.from_weights([[[1, 2], [3, 4]]], [[0, [0]]], "sigmoid"), ["layer 1: b must be a rectangular array"]),
    (lambda: dp.Network.from_weights([[[1, 2], [3, 4]]], [["a", "b"]], "sigmoid"), ["layer 1: b must hold numbers", "<U1"]),
    (lambda: dp.Network.from_weights([[[1, "x"]]], [0], "sigmoid"), ["layer 1: W must hold numbers"]),
    (lambda: dp.Network([4, np.int64(0), 3]), ["positive integer", "received [4, 0, 3]"]),
    (lambda: dp.Network(np.array([4.0, 3.0])), ["positive integer", "received [4.0, 3.0]"]),
    (lambda: dp.Network([4, 5, 3]).freeze(layers=[0, np.int64(7)]), ["integers from 1 to 2", "received [0, 7]"]),
    (lambda: dp.Network([4, 5, 3]).freeze(layers=1.5), ["integers from 1 to 2", "received [1.5]"]),
    (lambda: dp.Network([4, 5, 3]).freeze(params=None), ["'W' and 'b'", "received None"]),
    (lambda: dp.gradcheck(dp.Network([2, 2]), np.ones((1, 2)), np.ones((1, 2)), eps=0), ["eps must be a number in (0, inf)", "received 0"]),
    (lambda: dp.gradcheck(dp.Network([2, 2]), np.ones((1, 2)), np.ones((1, 2)), tol=np.float64(-1.0)), ["tol", "received -1.0"]),
    (lambda: dp.gradcheck([[1.0]], np.ones((1, 2)), np.ones((1, 2))), ["needs a deltaprop Network", "received list"]),
    (lambda: dp.Network([2, 2]).loss(np.ones((1, 2)), np.ones((1, 2)), l2=-1), ["l2 must be a finite number >= 0", "received -1"]),
    (lambda: dp.Network([2, 2]).gradients(np.ones((1, 2)), np.ones((1, 2)), l2=[1]), ["l2 must be", "received [1]"]),
    (lambda: dp.Network([2, 2]).train_step(np.ones((1, 2)), np.ones((1, 2)), "sgd"), ["optimizer object such as SGD(0.1)", "received 'sgd'"]),
    (lambda: dp.Network([2, 2]).backward(np.ones((1, 2))), ["backward needs a forward pass first"]),
])
def test_bad_configuration_says_what_was_expected_and_received(call, words):
    with pytest.raises(dp.DeltapropError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    assert isinstance(info.value, ValueError)


def test_a_network_pickles_and_copies_by_activation_name(rng):
    import pickle
    net = dp.Network([3, 5, 2], activation="leaky_relu", output_activation="softmax", seed=4)
    back = pickle.loads(pickle.dumps(net))
    X = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert back.layers[1].activation is dp.get_activation("softmax")


SWISH = dp.Activation("swish", lambda z: z / (1 + np.exp(-z)), lambda z, a: a + (1 - a) / (1 + np.exp(-z)), -0.28, np.inf)


@pytest.mark.parametrize("activation", [[SWISH], SWISH, [dp.Activation("relu", np.tanh, lambda z, a: 1 - a * a, -1, 1)]])
def test_custom_activation_objects_are_refused_with_the_valid_names(activation):
    # A network is copied, saved, explained and compiled by its activations' names, so a function
    # outside the registry would be lost (or swapped for the built-in "relu") on the way.
    with pytest.raises(dp.ConfigError) as info:
        dp.Network([3, 4, 2], activation=activation, output_activation="identity")
    assert "custom activations are not supported" in str(info.value)
    assert "identity, leaky_relu, relu, sigmoid, softmax, tanh" in str(info.value)


def test_a_built_in_activation_object_works_like_its_name(rng):
    X = rng.normal(size=(4, 3))
    by_object = dp.Network([3, 4, 2], activation=dp.ACTIVATIONS["tanh"], output_activation="identity", seed=1)
    by_name = dp.Network([3, 4, 2], activation="tanh", output_activation="identity", seed=1)
    assert by_object.activations == ["tanh", "identity"]
    np.testing.assert_array_equal(by_object.copy().forward(X), by_name.forward(X))


def test_class_labels_given_where_one_hot_rows_are_needed_get_a_hint():
    net = dp.Network([3, 4, 3], seed=0)
    X = np.zeros((20, 3))
    with pytest.raises(dp.ShapeError, match=r"^expected Y of shape \(20, 3\); received \(20,\) \(class labels\? fit "
                                            r"takes them; here give one-hot rows, e.g. np.eye\(3\)\[labels\]\)$"):
        net.loss(X, np.arange(20) % 3)
    with pytest.raises(dp.ShapeError, match=r"^expected Y of shape \(20, 3\); received \(2, 3\)$"):
        net.gradients(X, np.zeros((2, 3)))
    assert net.loss(X[:1], [0, 1, 0]) > 0  # one sample's targets as a 1-D list


def test_binary_cross_entropy_on_an_unbounded_output_suggests_sigmoid_only():
    net = dp.Network([2, 3, 2], output_activation="relu", seed=0)
    with pytest.raises(dp.ConfigError, match=r"\(output activation 'sigmoid'\); received output activation 'relu'$"):
        net.loss([[0.0, 1.0]], [[0, 1]], loss="binary_cross_entropy")
    with pytest.raises(dp.ConfigError, match=r"\(output activation 'sigmoid' or 'softmax'\); received output activation 'relu'$"):
        net.loss([[0.0, 1.0]], [[0, 1]], loss="cross_entropy")
