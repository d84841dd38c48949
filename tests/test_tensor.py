"""The Tensor's own API: dtypes, attributes with PyTorch's names, NumPy interop, factories."""

import numpy as np
import pytest

import tinygrad_lr as tl


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (1.5, np.float64),
        ([1.0, 2.5], np.float64),
        ([[1, 2.0], [3, 4]], np.float64),
        (3, np.int64),
        ([1, 2, 3], np.int64),
        ([True, False], np.bool_),
        (np.ones(2, dtype=np.float32), np.float32),
        (np.arange(3, dtype=np.int32), np.int32),
    ],
)
def test_dtype_of_new_tensors(data, dtype):
    assert tl.tensor(data).dtype == dtype


def test_float32_stays_float32_through_ops_and_gradients():
    x = tl.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 2.0 + 1).exp().sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        tl.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError here; both work
        tl.arange(3).requires_grad_()


def test_tensor_copies_its_data_and_from_numpy_shares_it():
    array = np.zeros(2)
    copied, shared = tl.tensor(array), tl.from_numpy(array)
    array[0] = 7.0
    assert copied.tolist() == [0.0, 0.0]
    assert shared.tolist() == [7.0, 0.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
def test_from_numpy_shares_arrays_of_every_number_dtype(dtype):
    array = np.zeros((2, 3), dtype=dtype)[:, 1:]  # a view: shared as it is, not copied
    shared = tl.from_numpy(array)
    assert shared.dtype == dtype and shared.shape == (2, 2) and not shared.requires_grad
    array[1, 1] = 1
    assert shared.tolist()[1][1] == 1


@pytest.mark.parametrize(
    "value, message",
    [(np.array([1 + 2j]), "complex numbers are not supported"),
     (np.array(["a"]), "data must be numbers"),
     ([1.0, 2.0], "expected a NumPy array, got list")],
)  # fmt: skip
def test_from_numpy_refuses_what_is_not_an_array_of_numbers(value, message):
    with pytest.raises((TypeError, tl.errors.DTypeError), match=message):
        tl.from_numpy(value)


def test_attributes_with_pytorch_names():
    x = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.numel() == 6 and len(x) == 2
    assert x.is_leaf and x.grad is None and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward"
    assert y.tolist() == [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]
    assert float(y.sum()) == 42.0 and y.sum().item() == 42.0
    assert int(tl.tensor(3.7)) == 3
    assert f"{y.mean():.2f}" == "7.00"


def test_repr_looks_like_pytorch():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(tl.tensor(3.0)) == "tensor(3.)"
    assert repr(tl.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=float32" in repr(tl.tensor(np.ones(1, dtype=np.float32)))


def test_numpy_interop_both_ways():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])
    left = np.array([3.0, 4.0]) * x
    assert isinstance(left, tl.Tensor) and left.grad_fn is not None
    scaled = np.float64(2.0) * x
    assert isinstance(scaled, tl.Tensor) and scaled.grad_fn is not None
    (left + np.array([[1.0, 0.0], [0.0, 1.0]]) @ x + scaled).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0 + 1.0 + 2.0, 4.0 + 1.0 + 2.0])
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()


def test_data_is_a_detached_view_as_in_pytorch():
    w = tl.zeros(3, requires_grad=True)
    w.data.normal_(0, 0.01)
    w.data.fill_(2.0)
    assert w.tolist() == [2.0, 2.0, 2.0]
    assert not w.data.requires_grad
    w.data = tl.tensor([1.0, 1.0, 1.0])
    assert w.tolist() == [1.0, 1.0, 1.0] and w.requires_grad


def test_comparisons_are_constants():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert mask.tolist() == [False, True, True]
    assert (x == 2.0).tolist() == [False, True, False]
    assert (x != 2.0).tolist() == [True, False, True]
    assert len({x, x}) == 1  # hashing is by identity


def test_indexing_with_tensors_lists_and_masks():
    x = tl.arange(12).reshape(3, 4)
    index = tl.tensor([2, 0, 2])
    assert x[index].shape == (3, 4)
    assert x[[0, 1]].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert x[x > 9].tolist() == [10, 11]
    assert x[..., None, 1].shape == (3, 1)
    with pytest.raises(IndexError, match="must be integer or boolean"):
        x[tl.tensor([0.0])]


def test_iterating_a_tensor_gives_rows():
    rows = list(tl.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]


def test_factories_follow_pytorch_signatures():
    assert tl.zeros(2, 3).shape == (2, 3) and tl.zeros((2, 3)).shape == (2, 3)
    assert tl.ones([4]).tolist() == [1.0] * 4
    assert tl.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert tl.arange(5).tolist() == [0, 1, 2, 3, 4] and tl.arange(5).dtype == np.int64
    assert tl.arange(0.0, 1.0, 0.5).tolist() == [0.0, 0.5]
    assert tl.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert tl.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tl.zeros_like(tl.ones(2, 2)).shape == (2, 2)
    assert tl.ones(2, dtype=tl.float32).dtype == np.float32
    w = tl.normal(0, 0.01, size=(2, 1), requires_grad=True)
    assert w.shape == (2, 1) and w.requires_grad
    assert sorted(tl.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_manual_seed_makes_random_draws_repeatable():
    tl.manual_seed(0)
    first = (tl.randn(3).tolist(), tl.rand(2).tolist(), tl.normal(1.0, 2.0, (2,)).tolist())
    tl.manual_seed(0)
    second = (tl.randn(3).tolist(), tl.rand(2).tolist(), tl.normal(1.0, 2.0, (2,)).tolist())
    assert first == second


def test_max_with_dim_returns_values_and_indices_like_pytorch():
    x = tl.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert x.max().item() == 7.0 and x.argmax().item() == 3


def test_numpy_style_axis_and_keepdims_are_accepted():
    x = tl.ones(2, 3)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert x.mean(axis=(0, 1)).shape == ()


def test_free_functions_mirror_the_methods():
    x = tl.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert tl.exp(x).tolist() == x.exp().tolist()
    assert tl.matmul(x, x).tolist() == (x @ x).tolist()
    assert tl.cat([x, x], dim=1).shape == (2, 4)
    assert tl.stack([x, x]).shape == (2, 2, 2)
    assert tl.where(x > 0, x, 0.0).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert tl.sum(x, 0).tolist() == [4.0, 2.0]
    assert tl.clamp(x, min=0).tolist() == [[1.0, 0.0], [3.0, 4.0]]


def test_bad_data_gives_clear_errors():
    with pytest.raises(ValueError, match="ragged"):
        tl.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="must be numbers"):
        tl.tensor(["a", "b"])
    with pytest.raises(TypeError, match="complex"):
        tl.tensor([1 + 2j])
    with pytest.raises(RuntimeError, match=r"item\(\): a tensor with 2 elements"):
        tl.tensor([1.0, 2.0]).item()


def test_shape_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: cannot broadcast \(3, 4\) with \(5,\)"):
        tl.ones(3, 4) + tl.ones(5)
    with pytest.raises(
        RuntimeError, match=r"matmul: inner dimensions do not match: \(3, 4\) @ \(5, 2\)"
    ):
        tl.ones(3, 4) @ tl.ones(5, 2)
    with pytest.raises(
        RuntimeError, match=r"reshape: cannot reshape .* \(2, 3\) \(6 elements\) into \(4,\)"
    ):
        tl.ones(2, 3).reshape(4)
    with pytest.raises(
        IndexError, match="sum: dim 2 is out of range for a tensor with 2 dimensions"
    ):
        tl.ones(2, 3).sum(dim=2)


def test_backward_argument_errors():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"implied only for a one-element output.*\(2,\)"):
        (x * 2).backward()
    with pytest.raises(
        RuntimeError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"
    ):
        (x * 2).backward(tl.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.ones(2).sum().backward()
