# d2l.ai 5.2 (4.3 in the first edition), concise MLP: nn.Sequential with nn.Flatten, two
# nn.Linear and nn.ReLU, weights set by net.apply(init_weights), trained by optim.SGD.
import torch
from torch import nn
from torch.utils import data


def synthetic_images(num_examples, prototypes, noise=2.0):
    labels = torch.randint(0, 10, (num_examples,))
    images = prototypes[labels] + noise * torch.randn(num_examples, 1, 8, 8)
    return images, labels


def load_data_synthetic(batch_size):
    """Stands in for d2l.load_data_fashion_mnist: (train_iter, test_iter)."""
    prototypes = torch.randn(10, 1, 8, 8)
    train = data.TensorDataset(*synthetic_images(1000, prototypes))
    test = data.TensorDataset(*synthetic_images(300, prototypes))
    return data.DataLoader(train, batch_size, shuffle=True), data.DataLoader(test, batch_size)


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    net.eval()
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y)
            total += y.numel()
    return correct / total


def main(num_epochs=10, lr=0.1, batch_size=64):
    torch.manual_seed(0)
    train_iter, test_iter = load_data_synthetic(batch_size)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    net.apply(init_weights)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=lr)

    history = []
    for epoch in range(num_epochs):
        net.train()
        for X, y in train_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
        history.append(evaluate_accuracy(net, test_iter))
        print(f"epoch {epoch + 1}: test acc {history[-1]:.3f}")

    return {
        "layers": [type(m).__name__ for m in net],
        "parameter_shapes": [tuple(p.shape) for p in net.parameters()],
        "test_accuracies": history,
    }


if __name__ == "__main__":
    main()
