# The torch side of micrograd's comparison test: scalar expression graphs built from
# one-element double tensors (the legacy torch.Tensor constructor, then .double()), with ReLU,
# powers, division, reflected operators and += on intermediate results; values and gradients.
import torch


def scalar(value):
    t = torch.Tensor([value]).double()
    t.requires_grad = True
    return t


def sanity_check(x_value=-4.0):
    x = scalar(x_value)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return {"y": y.data.item(), "x_grad": x.grad.item()}


def more_ops(a_value=-4.0, b_value=2.0):
    a = scalar(a_value)
    b = scalar(b_value)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return {"g": g.data.item(), "a_grad": a.grad.item(), "b_grad": b.grad.item()}


def neuron(inputs=(1.5, -0.5, 2.0), weights=(0.3, -1.2, 0.8), bias=0.1):
    """One tanh neuron, the graph micrograd draws: out = tanh(sum_i w_i x_i + bias)."""
    xs = [scalar(v) for v in inputs]
    ws = [scalar(v) for v in weights]
    b = scalar(bias)
    act = b
    for w, x in zip(ws, xs):
        act = act + w * x
    out = act.tanh()
    loss = (out - 1) ** 2 / 2 - out.exp() * 0.1 + (act.sigmoid() + 1).log()
    loss.backward()
    return {
        "loss": loss.item(),
        "w_grads": [w.grad.item() for w in ws],
        "x_grads": [x.grad.item() for x in xs],
        "b_grad": b.grad.item(),
    }


def main():
    return {
        "sanity": sanity_check(),
        "sanity_positive": sanity_check(3.0),
        "more_ops": more_ops(),
        "more_ops_other": more_ops(1.5, -0.5),
        "neuron": neuron(),
        "is_double": scalar(1.0).dtype == torch.float64,
    }


if __name__ == "__main__":
    print(main())
