# "Learning PyTorch with Examples", custom nn Modules and dynamic graphs: the cubic as a
# Module with four Parameters trained by SGD, then a net whose depth is drawn anew each pass.
import math
import random

import torch


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def string(self):
        a, b, c, d = self.a.item(), self.b.item(), self.c.item(), self.d.item()
        return f"y = {a} + {b} x + {c} x^2 + {d} x^3"


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        # Ordinary Python control flow: 0, 1 or 2 extra terms e x^4, e x^5, one weight reused.
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y


def main(steps=2000, learning_rate=1e-6, dynamic_steps=1000):
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    model = Polynomial3()
    names = [name for name, _ in model.named_parameters()]
    initial = [param.item() for param in model.parameters()]
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    losses = []
    for t in range(steps):
        loss = criterion(model(x), y)
        if t % 100 == 99:
            losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    final = [param.item() for param in model.parameters()]
    print(f"Result: {model.string()}")

    random.seed(0)
    dynamic = DynamicNet()
    dynamic_optimizer = torch.optim.SGD(dynamic.parameters(), lr=1e-8, momentum=0.9)
    dynamic_losses = []
    for t in range(dynamic_steps):
        loss = criterion(dynamic(x), y)
        dynamic_losses.append(loss.item())
        dynamic_optimizer.zero_grad()
        loss.backward()
        dynamic_optimizer.step()

    return {
        "names": names,
        "initial": initial,
        "final": final,
        "losses": losses,
        "string": model.string(),
        "steps": steps,
        "learning_rate": learning_rate,
        "dynamic_first_loss": dynamic_losses[0],
        "dynamic_last_losses": dynamic_losses[-10:],
    }


if __name__ == "__main__":
    main()
