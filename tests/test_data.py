"""CSV loading, scaling and splitting against hand-made files and hand-computed numbers."""
import numpy as np
import pytest

from deltaprop.data import Scaler, as_dataset, detect_task, load_csv, load_features, load_iris, split_indices
from deltaprop.errors import ConfigError, DataError


def write(tmp_path, text, name="d.csv", mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_bundled_iris_is_the_uci_file():
    ds = load_iris()
    assert ds.X.shape == (150, 4)
    assert list(np.unique(ds.y)) == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    np.testing.assert_array_equal(ds.X[0], [5.1, 3.5, 1.4, 0.2])
    # Fisher's table sums to 2078.7; the UCI file differs in rows 35 and 38 (0.2->0.1 and
    # 3.6,1.4 -> 3.1,1.5), which takes 0.5 off: this is the UCI file the seed reads.
    assert ds.X.sum() == pytest.approx(2078.2, abs=1e-9)
    np.testing.assert_array_equal(ds.X[34], [4.9, 3.1, 1.5, 0.1])
    np.testing.assert_array_equal(ds.X[37], [4.9, 3.1, 1.5, 0.1])


def test_header_detected_and_label_by_name_in_any_column(tmp_path):
    path = write(tmp_path, "species,length,width\ncat,1.5,2\ndog,3,4.25\ncat,0,1\n")
    ds = load_csv(path, label="species")
    assert ds.feature_names == ["length", "width"] and ds.label_name == "species"
    np.testing.assert_array_equal(ds.X, [[1.5, 2], [3, 4.25], [0, 1]])
    assert list(ds.y) == ["cat", "dog", "cat"]
    assert load_csv(path, label=0).label_name == "species"


def test_no_header_defaults_to_last_column(tmp_path):
    ds = load_csv(write(tmp_path, "1,2,a\n3,4,b\n"))
    assert ds.feature_names == ["x1", "x2"] and list(ds.y) == ["a", "b"]
    ds = load_csv(write(tmp_path, "1,2,0.5\n3,4,1.5\n", "n.csv"), header=False)
    np.testing.assert_array_equal(ds.y, [0.5, 1.5])


def test_utf8_bom_and_blank_lines_are_fine(tmp_path):
    path = write(tmp_path, "\ufeffa,b,label\n1,2,x\n\n3,4,y\n")
    ds = load_csv(path)
    assert ds.feature_names == ["a", "b"] and len(ds) == 2


@pytest.mark.parametrize("text,words", [
    ("", ["empty"]),
    ("a,b,label\n", ["only a header"]),
    ("1,2,x\n3,x\n", ["line 2", "2 fields", "expected 3"]),
    ("a,b,label\n1,2,x\n3,oops,y\n", ["line 3", "column 'b'", "'oops' is not a number"]),
    ("a,b,label\n1,nan,x\n", ["line 2", "not finite"]),
    ("a,b,label\n1,inf,x\n", ["not finite"]),
    ("a,b,label\n1,2,\n", ["empty cells"]),
    ("7\n8\n", ["at least 2 columns"]),
])
def test_bad_csv_names_the_problem_and_the_line(tmp_path, text, words):
    with pytest.raises(DataError) as info:
        load_csv(write(tmp_path, text))
    for word in words:
        assert word in str(info.value)
    assert "d.csv" in str(info.value) and "\n" not in str(info.value)


def test_unknown_label_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,x\n")
    with pytest.raises(DataError, match="no label column 'kind'; columns are: a, b, label"):
        load_csv(path, label="kind")
    with pytest.raises(DataError, match="index 5 is out of range"):
        load_csv(path, label=5)


def test_non_utf8_bytes(tmp_path):
    path = write(tmp_path, b"a,b,label\n1,2,caf\xe9\n", mode="wb")
    with pytest.raises(DataError, match=r"line 2: not UTF-8"):
        load_csv(path)


def test_load_features_by_name_and_position(tmp_path):
    path = write(tmp_path, "label,b,a\nx,2,1\ny,4,3\n")
    np.testing.assert_array_equal(load_features(path, ["a", "b"]), [[1, 2], [3, 4]])
    path = write(tmp_path, "1,2\n3,4\n", "p.csv")
    np.testing.assert_array_equal(load_features(path, ["a", "b"]), [[1, 2], [3, 4]])
    with pytest.raises(DataError, match="3 columns; the model needs 1 features"):
        load_features(write(tmp_path, "1,2,3\n", "q.csv"), ["a"])


def test_minmax_scaler_uses_the_seed_arithmetic():
    X = np.array([[4.3, 2.0], [7.9, 4.4], [5.0, 3.0]])
    s = Scaler("minmax").fit(X)
    for j in range(2):
        col = X[:, j]
        scale = 1.0 / (col.max() - col.min())
        expected = col * scale + (0 - col.min() * scale)
        np.testing.assert_array_equal(s.transform(X)[:, j], expected)  # bit for bit
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, rtol=1e-15)


def test_standard_scaler_and_constant_columns():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    Z = Scaler("standard").fit_transform(X)
    np.testing.assert_allclose(Z[:, 0], [-np.sqrt(1.5), 0, np.sqrt(1.5)], rtol=1e-14)
    np.testing.assert_array_equal(Z[:, 1], 0)
    np.testing.assert_array_equal(Scaler("minmax").fit_transform(X)[:, 1], 0)
    with pytest.raises(ConfigError, match="unknown scaler 'robust'"):
        Scaler("robust")


def test_stratified_split_keeps_class_shares_and_is_reproducible():
    y = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    train, val = split_indices(y, 0.2, seed=3)
    assert len(val) == 20 and len(train) == 80 and not set(train) & set(val)
    assert sorted(np.unique(y[val], return_counts=True)[1]) == [4, 6, 10]
    np.testing.assert_array_equal(val, split_indices(y, 0.2, seed=3)[1])
    assert not np.array_equal(val, split_indices(y, 0.2, seed=4)[1])
    train, val = split_indices(y, 0.2, seed=3, stratify=False)
    assert len(val) == 20


def test_split_refuses_fractions_that_leave_nothing():
    with pytest.raises(DataError, match="0 of 3 rows"):
        split_indices(np.arange(3), 0.1)
    for bad in (1.5, 1, -0.1, True, "0.2"):
        with pytest.raises(ConfigError, match=r"^validation_fraction must be a number in \[0, 1\) \(0 holds out no rows\)"):
            split_indices(np.arange(3), bad)
    train, val = split_indices(np.arange(3), 0)  # none held out
    assert train.tolist() == [0, 1, 2] and val.tolist() == []


def test_task_detection():
    assert detect_task(np.array(["a", "b"], dtype=object)) == "classification"
    assert detect_task(np.array([0, 1, 2, 1, 0] * 10)) == "classification"
    assert detect_task(np.linspace(0, 1, 50)) == "regression"
    assert detect_task(np.arange(100)) == "regression"
    assert detect_task(np.eye(3)[[0, 1, 2, 1]]) == "classification"


def test_dataframes_and_arrays_alike():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"u": [1.0, 2.0], "v": [3.0, 4.0]})
    ds = as_dataset(df, pd.Series(["p", "q"], name="kind"))
    assert ds.feature_names == ["u", "v"] and ds.label_name == "kind"
    np.testing.assert_array_equal(ds.X, [[1, 3], [2, 4]])
    ds = as_dataset([[1, 2], [3, 4]], [0, 1])
    assert ds.feature_names == ["x1", "x2"]
    with pytest.raises(DataError, match="2 rows but y has 3"):
        as_dataset([[1, 2], [3, 4]], [0, 1, 1])


def test_numeric_feature_names_are_still_a_header(tmp_path):
    path = write(tmp_path, "1,2,3,4,species\n5.1,3.5,1.4,0.2,a\n4.9,3,1.4,0.2,a\n7,3.2,4.7,1.4,b\n6.4,3.2,4.5,1.5,b\n")
    ds = load_csv(path)
    assert ds.feature_names == ["1", "2", "3", "4"] and ds.label_name == "species" and list(ds.y) == ["a", "a", "b", "b"]
    ds = load_csv(path, header=False, label=None)  # told otherwise, the first line is data
    assert len(ds) == 5 and ds.feature_names == ["x1", "x2", "x3", "x4"]


def test_the_seed_file_is_detected_as_having_no_header():
    from importlib import resources
    ds = load_csv(str(resources.files("deltaprop") / "data" / "iris.csv"))
    assert len(ds) == 150 and ds.feature_names == ["x1", "x2", "x3", "x4"]


def test_a_first_row_of_measurements_with_a_label_seen_once_is_data(tmp_path):
    """Numbers written as measurements (4.0, 2.5) are data, even above a label that never comes
    again; feature names that are numbers count columns (1, 2, 3)."""
    rows = "5.1,3.5,1.4,0.2,a\n4.9,3,1.4,0.2,a\n7,3.2,4.7,1.4,b\n6.4,3.2,4.5,1.5,b\n"
    ds = load_csv(write(tmp_path, "4.0,3.0,2.0,1.0,rare\n" + rows))
    assert len(ds) == 5 and ds.feature_names == ["x1", "x2", "x3", "x4"] and ds.y[0] == "rare"
    np.testing.assert_array_equal(ds.X[0], [4, 3, 2, 1])


def test_integer_labels_stay_as_written(tmp_path):
    ds = load_csv(write(tmp_path, "a,b,cls\n0.5,1,0\n0.1,2,2\n0.7,3,1\n"))
    assert ds.y.dtype.kind == "i" and list(ds.y) == [0, 2, 1]
    ds = load_csv(write(tmp_path, "a,b,t\n0.5,1,0.5\n0.1,2,2\n0.7,3,1.0\n"))
    assert ds.y.dtype.kind == "f" and list(ds.y) == [0.5, 2.0, 1.0]


def test_long_name_lists_in_messages_are_cut(tmp_path):
    from deltaprop.data import names_text
    assert names_text(["a", "b", "c"]) == "a, b, c"
    assert names_text([f"f{i}" for i in range(5000)]) == "f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, …, f4999 (5000 names)"
    names = [f"f{i}" for i in range(300)]
    with pytest.raises(DataError) as err:
        load_features(write(tmp_path, "1,2\n3,4\n"), names)
    assert len(str(err.value)) < 200 and "(300 names)" in str(err.value)


@pytest.mark.parametrize("sep, what", [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_by_something_else_says_so(tmp_path, sep, what):
    text = sep.join(["a", "b", "c"]) + "\n" + sep.join(["1", "2", "x"]) + "\n" + sep.join(["3", "4", "y"]) + "\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=f"received 1 \\(the values seem to be separated by {what}; deltaprop reads comma"):
        load_csv(path)
    with pytest.raises(DataError, match=f"separated by {what}"):
        load_features(path, ["a", "b"])
    with pytest.raises(DataError) as err:  # a comma file says nothing of the kind
        load_csv(write(tmp_path, "a,b,c\n1,z,x\n3,4,y\n"))
    assert "seem to be separated" not in str(err.value)


def test_ragged_features_or_targets_get_a_one_line_error():
    with pytest.raises(DataError, match="y must be a rectangular array .*received rows of different lengths"):
        as_dataset(np.zeros((3, 2)), [[1, 2], [1], [0, 1]])
    with pytest.raises(DataError, match="X must be a rectangular array .*received rows of different lengths"):
        as_dataset([[1, 2], [3]], [0, 1])


def test_names_with_a_comma_or_a_space_are_quoted_in_messages():
    from deltaprop.data import names_text
    assert names_text(["a", "b,c", "sepal length"]) == "a, 'b,c', 'sepal length'"


def test_counts_in_messages_are_singular_for_one(tmp_path):
    with pytest.raises(DataError, match="1 column; the model needs 2 features"):
        load_features(write(tmp_path, "1\n2\n"), ["a", "b"])
    with pytest.raises(DataError, match="line 2: 1 field; expected 3"):
        load_csv(write(tmp_path, "1,2,x\n3\n"))


def test_an_empty_feature_cell_is_called_a_missing_value(tmp_path):
    for load in (lambda p: load_csv(p), lambda p: load_features(p, ["a", "b"])):
        with pytest.raises(DataError, match="line 3, column 'b': an empty cell \\(a missing value\\); expected a finite number"):
            load(write(tmp_path, "a,b,y\n1,2,x\n3,,y\n"))


def test_drop_leaves_columns_out_by_name_or_index(tmp_path):
    from deltaprop.data import NotANumber
    path = write(tmp_path, "id,a,note,b,y\nr1,1,hi,2,x\nr2,3,ho,4,y\n")
    with pytest.raises(NotANumber, match="column 'id': 'r1' is not a number") as err:
        load_csv(path)
    assert err.value.key == "id" and err.value.label == "y"
    ds = load_csv(path, drop=["id", "2"])  # a name, and an index (column 'note')
    assert ds.feature_names == ["a", "b"] and ds.X.tolist() == [[1, 2], [3, 4]] and list(ds.y) == ["x", "y"]
    with pytest.raises(DataError, match="no column to drop 'nope'; columns are: id, a, note, b, y"):
        load_csv(path, drop=["nope"])
    with pytest.raises(DataError, match="column 'y' is the label; expected feature columns to drop"):
        load_csv(path, drop=["id", "note", "y"])
    with pytest.raises(DataError, match="no feature column is left after dropping id, a, note, b"):
        load_csv(path, drop=["id", "a", "note", "b"])
    plain = write(tmp_path, "r1,1,2,x\nr2,3,4,y\n", "plain.csv")
    with pytest.raises(NotANumber) as err:
        load_csv(plain)
    assert err.value.key == "0"  # no header: the column is named by its index, as drop takes it
    assert load_csv(plain, drop=["0"]).X.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(DataError, match="no header line, so columns to drop must be given by index; received 'id'"):
        load_csv(plain, drop=["id"])


def test_features_by_name_leave_the_other_columns_out(tmp_path):
    path = write(tmp_path, "name,b,a,price\nn1,2,1,10\nn2,4,3,20\n")
    ds = load_csv(path, features=["a", "b"], prefer_label="price")
    assert ds.feature_names == ["a", "b"] and ds.X.tolist() == [[1, 2], [3, 4]] and list(ds.y) == [10, 20]
    with pytest.raises(DataError, match="no label column 'cost' \\(the model's label\\); columns are: name, b, a, price"):
        load_csv(path, features=["a", "b"], prefer_label="cost")
    assert list(load_csv(path, features=["a", "b"], prefer_label="cost", label="price").y) == [10, 20]


def test_a_comma_at_the_end_of_every_line_is_not_a_column(tmp_path):
    """Spreadsheets write one: the empty last column was taken as the label ('the label column has
    empty cells'), and --label label then found an empty feature."""
    path = tmp_path / "trail.csv"
    path.write_text("a,b,label,\n1,2,x,\n3,4,y,\n5,6,x,\n")
    data = load_csv(path)
    assert data.feature_names == ["a", "b"] and data.label_name == "label" and list(data.y) == ["x", "y", "x"]
    np.testing.assert_array_equal(load_csv(path, label="label").X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(load_features(path, ["a", "b"]), [[1, 2], [3, 4], [5, 6]])
    (tmp_path / "below.csv").write_text("a,b,label\n1,2,x,\n3,4,y,\n5,6,x,\n")  # only the lines below the header
    assert load_csv(tmp_path / "below.csv").X.tolist() == [[1, 2], [3, 4], [5, 6]]
    (tmp_path / "named.csv").write_text("a,b,label,note\n1,2,x,\n3,4,y,\n")  # a named column stays, empty or not
    assert load_csv(tmp_path / "named.csv", label="label", drop=["note"]).feature_names == ["a", "b"]


def test_a_column_dropped_by_index_may_share_its_name(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("x,x,c,label\n1,2,3,a\n4,5,6,b\n")
    with pytest.raises(DataError, match=r"line 1: the header names column 'x' twice; expected unique column names "
                                        r"\(or drop one by its index\)$"):
        load_csv(path)
    data = load_csv(path, drop=[1])
    assert data.feature_names == ["x", "c"] and data.X.tolist() == [[1, 3], [4, 6]]
