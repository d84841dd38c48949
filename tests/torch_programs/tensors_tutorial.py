# The official "Tensors" tutorial, as a learner types it: making tensors, their attributes,
# indexing, joining, arithmetic (three spellings of each), in-place ops and the NumPy bridge.
import numpy as np
import torch


def main():
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    x_np = torch.from_numpy(np.array(data))
    x_ones = torch.ones_like(x_data)  # keeps shape and dtype of x_data
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the dtype

    shape = (2, 3)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)

    tensor = torch.rand(3, 4)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tensor = tensor.to(device)

    t = torch.ones(4, 4)
    t[:, 1] = 0
    # Copies, so that they show the values at this point (indexing gives views of t).
    first_row, first_column, last_column = t[0].clone(), t[:, 0].clone(), t[..., -1].clone()
    t1 = torch.cat([t, t, t], dim=1)

    y1 = t @ t.T
    y2 = t.matmul(t.T)
    y3 = torch.rand_like(y1)
    torch.matmul(t, t.T, out=y3)

    z1 = t * t
    z2 = t.mul(t)
    z3 = torch.rand_like(t)
    torch.mul(t, t, out=z3)

    agg = t.sum()
    agg_item = agg.item()
    t.add_(5)

    # A tensor and the NumPy array made from it share their memory.
    bridge = torch.ones(5)
    bridge_np = bridge.numpy()
    bridge.add_(1)
    seen_by_numpy = bridge_np.copy()
    np.add(bridge_np, 1, out=bridge_np)
    seen_by_tensor = bridge.clone()

    return {
        "x_data": x_data,
        "x_data_is_int64": x_data.dtype == torch.int64,
        "x_np": x_np,
        "x_ones": x_ones,
        "x_rand_is_float": x_rand.dtype == torch.float,
        "x_rand": x_rand,
        "shapes": [tuple(rand_tensor.shape), tuple(ones_tensor.shape), tuple(zeros_tensor.shape)],
        "ones_tensor": ones_tensor,
        "zeros_tensor": zeros_tensor,
        "tensor_shape": tuple(tensor.shape),
        "device": str(tensor.device),
        "first_row": first_row,
        "first_column": first_column,
        "last_column": last_column,
        "t1_shape": tuple(t1.shape),
        "t1": t1,
        "y1": y1,
        "y2": y2,
        "y3": y3,
        "z1": z1,
        "z2": z2,
        "z3": z3,
        "agg_item": agg_item,
        "agg_item_is_float": isinstance(agg_item, float),
        "t_after_add_": t,
        "seen_by_numpy": seen_by_numpy,
        "seen_by_tensor": seen_by_tensor,
    }


if __name__ == "__main__":
    print(main())
