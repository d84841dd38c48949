# d2l.ai 5.1 and 5.2 (4.1 and 4.2 in the first edition): the derivatives of ReLU, sigmoid and
# tanh by backward() through a vector, then an MLP from scratch with nn.Parameter weights, ReLU
# as torch.max(X, 0), CrossEntropyLoss(reduction="none") and optim.SGD, on synthetic images.
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


def activation_gradients():
    x = torch.arange(-8.0, 8.0, 0.1, requires_grad=True)
    y = torch.relu(x)
    y.backward(torch.ones_like(x), retain_graph=True)
    relu_grad = x.grad.clone()

    y = torch.sigmoid(x)
    x.grad.data.zero_()  # clear the ReLU's gradient first
    y.backward(torch.ones_like(x), retain_graph=True)
    sigmoid_grad = x.grad.clone()

    y = torch.tanh(x)
    x.grad.data.zero_()
    y.backward(torch.ones_like(x), retain_graph=True)
    tanh_grad = x.grad.clone()
    return {
        "x": x.detach(),
        "relu_grad": relu_grad,
        "sigmoid_grad": sigmoid_grad,
        "tanh_grad": tanh_grad,
    }


def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y)
            total += y.numel()
    return correct / total


def main(num_epochs=10, lr=0.1, batch_size=64):
    torch.manual_seed(0)
    activations = activation_gradients()
    relu_check = relu(torch.tensor([-2.0, 0.0, 3.0]))

    train_iter, test_iter = load_data_synthetic(batch_size)
    num_inputs, num_outputs, num_hiddens = 64, 10, 256
    W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens, requires_grad=True) * 0.01)
    b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
    W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs, requires_grad=True) * 0.01)
    b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))
    params = [W1, b1, W2, b2]

    def net(X):
        X = X.reshape((-1, num_inputs))
        H = relu(X @ W1 + b1)  # @ is matrix multiplication
        return H @ W2 + b2

    loss = nn.CrossEntropyLoss(reduction="none")
    updater = torch.optim.SGD(params, lr=lr)
    history = []
    for epoch in range(num_epochs):
        for X, y in train_iter:
            l = loss(net(X), y)
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        history.append(evaluate_accuracy(net, test_iter))
        print(f"epoch {epoch + 1}: test acc {history[-1]:.3f}")

    return {**activations, "relu_check": relu_check, "test_accuracies": history}


if __name__ == "__main__":
    main()
