# "Learning PyTorch with Examples", optim: the nn version of the cubic fit, trained by
# RMSprop through optimizer.zero_grad(), loss.backward() and optimizer.step().
import math

import torch


def main(steps=2000, learning_rate=1e-3):
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    linear_layer = model[0]
    initial = [linear_layer.bias.item()] + [linear_layer.weight[:, i].item() for i in range(3)]

    losses, snapshots = [], []
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if t % 100 == 99:
            snapshots.append([linear_layer.bias.item()] + linear_layer.weight[0].tolist())

    final = [linear_layer.bias.item()] + [linear_layer.weight[:, i].item() for i in range(3)]
    print(f"Result: y = {final[0]} + {final[1]} x + {final[2]} x^2 + {final[3]} x^3")
    return {
        "initial": initial,
        "final": final,
        "losses": losses,
        "snapshots": snapshots,
        "steps": steps,
        "learning_rate": learning_rate,
        "defaults": {k: optimizer.defaults[k] for k in ("alpha", "eps", "momentum")},
    }


if __name__ == "__main__":
    main()
