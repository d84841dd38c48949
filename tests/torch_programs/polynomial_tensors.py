# "Learning PyTorch with Examples", Tensors: fit y = a + b x + c x^2 + d x^3 to sin(x) on
# [-pi, pi] by gradient descent, with the gradients of the squared error written by hand.
import math

import torch


def main(steps=2000, learning_rate=1e-6):
    dtype = torch.float
    device = torch.device("cpu")

    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)
    initial = [a.item(), b.item(), c.item(), d.item()]

    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum().item()
        if t % 100 == 99:
            losses.append(loss)

        # Backprop by hand: d(loss)/d(y_pred) = 2 (y_pred - y), then the chain rule.
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()

        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d

    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    return {
        "initial": initial,
        "final": [a.item(), b.item(), c.item(), d.item()],
        "losses": losses,
        "steps": steps,
        "learning_rate": learning_rate,
    }


if __name__ == "__main__":
    main()
