# d2l.ai 3.2, linear regression from scratch: synthetic data y = Xw + b + noise, a minibatch
# iterator, the model, the squared loss and minibatch SGD, each written out by hand.
import random

import torch


def synthetic_data(w, b, num_examples):
    """y = Xw + b + noise, noise ~ N(0, 0.01^2)."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)  # the examples in a random order, each once per epoch
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def main(num_epochs=3, lr=0.03, batch_size=10):
    random.seed(0)
    torch.manual_seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    first_X, first_y = next(data_iter(batch_size, features, labels))

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    net, loss = linreg, squared_loss
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)
            l.sum().backward()
            sgd([w, b], lr, batch_size)
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            losses.append(float(train_l.mean()))
            print(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}")

    return {
        "shapes": [
            tuple(features.shape),
            tuple(labels.shape),
            tuple(first_X.shape),
            tuple(first_y.shape),
        ],
        "true_w": true_w,
        "true_b": true_b,
        "w": w.detach().reshape(true_w.shape),
        "b": b.item(),
        "losses": losses,
    }


if __name__ == "__main__":
    main()
