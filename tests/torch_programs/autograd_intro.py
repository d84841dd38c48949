# "A Gentle Introduction to torch.autograd": gradients of a vector-valued Q with an external
# gradient, which tensors take part in the graph, and freezing a model to fine-tune its head.
import torch
from torch import nn, optim


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.body(x))


def main():
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1.0, 1.0])
    Q.backward(gradient=external_grad)
    a_grad_matches = bool((9 * a**2 == a.grad).all())
    b_grad_matches = bool((-2 * b == b.grad).all())

    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    sum_xy = x + y
    sum_xz = x + z

    # Freeze everything, then replace the last layer: only the new layer learns.
    torch.manual_seed(0)
    model = TinyNet()
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(8, 3)
    body_before = [p.clone() for p in model.body.parameters()]
    fc_before = [p.detach().clone() for p in model.fc.parameters()]
    optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    inputs = torch.rand(16, 4)
    labels = torch.rand(16, 3)
    loss = ((model(inputs) - labels) ** 2).sum()
    loss.backward()
    optimizer.step()

    return {
        "Q": Q.detach(),
        "a_grad": a.grad,
        "b_grad": b.grad,
        "a_grad_matches": a_grad_matches,
        "b_grad_matches": b_grad_matches,
        "sum_xy_requires_grad": sum_xy.requires_grad,
        "sum_xz_requires_grad": sum_xz.requires_grad,
        "frozen_grads_are_none": all(p.grad is None for p in model.body.parameters()),
        "body_unchanged": all(
            bool((p == q).all()) for p, q in zip(model.body.parameters(), body_before)
        ),
        "fc_changed": all(bool((p != q).any()) for p, q in zip(model.fc.parameters(), fc_before)),
        "trainable": [name for name, p in model.named_parameters() if p.requires_grad],
    }


if __name__ == "__main__":
    print(main())
