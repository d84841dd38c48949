# d2l.ai 4.2 (3.6 in the first edition), softmax regression from scratch, on ten classes of
# synthetic 1x8x8 images in place of Fashion-MNIST: softmax, cross-entropy by fancy indexing,
# accuracy, an Accumulator and the chapter's train_epoch_ch3 / train_ch3.
import torch
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


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition  # broadcasting divides each row by its sum


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat, y):
    """The number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


class Accumulator:
    """Sums over n variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)  # correct predictions, predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)  # summed loss, correct predictions, examples
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    history = []
    for epoch in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        history.append((train_loss, train_acc, test_acc))
        print(f"epoch {epoch + 1}: loss {train_loss:.3f}, train acc {train_acc:.3f}", end=", ")
        print(f"test acc {test_acc:.3f}")
    return history


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def main(num_epochs=10, lr=0.1, batch_size=64):
    torch.manual_seed(0)
    train_iter, test_iter = load_data_synthetic(batch_size)
    num_inputs, num_outputs = 64, 10
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def updater(batch_size):
        return sgd([W, b], lr, batch_size)

    # The chapter's small checks, on fixed numbers.
    X = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    checks = {
        "softmax": softmax(X),
        "softmax_row_sums": softmax(X).sum(1),
        "picked": y_hat[[0, 1], y],
        "cross_entropy": cross_entropy(y_hat, y),
        "accuracy": accuracy(y_hat, y) / len(y),
        "untrained_accuracy": evaluate_accuracy(net, test_iter),
    }

    history = train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)
    return {**checks, "history": history}


if __name__ == "__main__":
    main()
