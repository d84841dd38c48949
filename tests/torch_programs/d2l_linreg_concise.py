# d2l.ai 3.3, concise linear regression: TensorDataset and DataLoader through
# torch.utils.data, nn.Sequential(nn.Linear), in-place initialisation, MSELoss and optim.SGD.
import torch
from torch import nn
from torch.utils import data


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    """A PyTorch data iterator over the given tensors."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def main(num_epochs=3, batch_size=10):
    torch.manual_seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    data_iter = load_array((features, labels), batch_size)
    first_X, first_y = next(iter(data_iter))

    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)

    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        l = loss(net(features), labels)
        losses.append(l.item())
        print(f"epoch {epoch + 1}, loss {l:f}")

    w = net[0].weight.data
    b = net[0].bias.data
    print("error in estimating w:", true_w - w.reshape(true_w.shape))
    print("error in estimating b:", true_b - b)
    return {
        "first_batch_shapes": [tuple(first_X.shape), tuple(first_y.shape)],
        "batches": len(data_iter),
        "true_w": true_w,
        "true_b": true_b,
        "w": w.reshape(true_w.shape),
        "b": b.item(),
        "losses": losses,
    }


if __name__ == "__main__":
    main()
