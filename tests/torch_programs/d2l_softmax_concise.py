# d2l.ai 4.5 (3.7 in the first edition), concise softmax regression: nn.Flatten and
# nn.Linear, nn.init.normal_ through net.apply, CrossEntropyLoss(reduction="none"), optim.SGD.
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


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


def main(num_epochs=10, batch_size=64):
    torch.manual_seed(0)
    train_iter, test_iter = load_data_synthetic(batch_size)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    net.apply(init_weights)
    initial_weight_std = net[1].weight.std().item()
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)

    history = []
    for epoch in range(num_epochs):
        net.train()
        loss_sum, correct, seen = 0.0, 0.0, 0
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            loss_sum += float(l.sum())
            correct += accuracy(y_hat, y)
            seen += y.numel()
        test_acc = evaluate_accuracy(net, test_iter)
        history.append((loss_sum / seen, correct / seen, test_acc))
        print(f"epoch {epoch + 1}: loss {loss_sum / seen:.3f}, test acc {test_acc:.3f}")

    return {
        "initial_weight_std": initial_weight_std,
        "per_example_loss_shape": tuple(l.shape),
        "history": history,
    }


if __name__ == "__main__":
    main()
