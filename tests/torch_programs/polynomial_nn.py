# "Learning PyTorch with Examples", nn: the cubic fit as Linear(3, 1) on the features
# (x, x^2, x^3), flattened to one output per point, with a summed squared error.
import math

import torch


def main(steps=2000, learning_rate=1e-6):
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # xx[i] = (x_i, x_i^2, x_i^3): a (2000, 1) column raised to a (3,) row of powers.
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    linear_layer = model[0]
    initial = [linear_layer.bias.item()] + [linear_layer.weight[:, i].item() for i in range(3)]

    losses = []
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad

    final = [linear_layer.bias.item()] + [linear_layer.weight[:, i].item() for i in range(3)]
    print(f"Result: y = {final[0]} + {final[1]} x + {final[2]} x^2 + {final[3]} x^3")
    return {
        "xx_shape": tuple(xx.shape),
        "output_shape": tuple(model(xx).shape),
        "initial": initial,
        "final": final,
        "losses": losses,
        "steps": steps,
        "learning_rate": learning_rate,
    }


if __name__ == "__main__":
    main()
