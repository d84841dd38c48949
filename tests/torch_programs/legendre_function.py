# "Learning PyTorch with Examples", new autograd Functions: y = a + b P3(c + d x) with the
# Legendre polynomial P3(x) = (5x^3 - 3x) / 2 as a Function that gives its own derivative,
# P3'(x) = 3 (5x^2 - 1) / 2. The start is fixed, so every run takes the same path.
import math

import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


def main(steps=2000, learning_rate=5e-6):
    dtype = torch.float
    device = torch.device("cpu")

    # The Function's gradient against autograd's own on the same points.
    probe = torch.linspace(-1.5, 1.5, 7, dtype=torch.double, requires_grad=True)
    LegendrePolynomial3.apply(probe).sum().backward()
    custom_grad = probe.grad.clone()
    probe.grad = None
    (0.5 * (5 * probe**3 - 3 * probe)).sum().backward()
    autograd_grad = probe.grad.clone()

    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

    losses = []
    for t in range(steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
    return {
        "probe": probe.detach(),
        "custom_grad": custom_grad,
        "autograd_grad": autograd_grad,
        "final": [a.item(), b.item(), c.item(), d.item()],
        "losses": losses,
    }


if __name__ == "__main__":
    main()
