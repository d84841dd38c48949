# "Learning PyTorch with Examples", Autograd: the same cubic fit to sin(x), with the
# gradients from loss.backward() and the update inside torch.no_grad().
import math

import torch


def main(steps=2000, learning_rate=1e-6):
    dtype = torch.float
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_default_device(device)

    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)

    a = torch.randn((), dtype=dtype, requires_grad=True)
    b = torch.randn((), dtype=dtype, requires_grad=True)
    c = torch.randn((), dtype=dtype, requires_grad=True)
    d = torch.randn((), dtype=dtype, requires_grad=True)
    initial = [a.item(), b.item(), c.item(), d.item()]

    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
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
