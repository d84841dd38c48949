# d2l.ai 3.7 (4.5 in the first edition), weight decay: 200 inputs and only 20 training
# examples, so an unpenalised model overfits; an L2 penalty written by hand, then the same
# through optim.SGD's weight_decay in a parameter group.
import torch
from torch import nn
from torch.utils import data


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def evaluate_loss(net, data_iter, loss):
    """The mean loss over a dataset."""
    total, count = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            out = net(X)
            y = y.reshape(out.shape)
            total += loss(out, y).sum().item()
            count += y.numel()
    return total / count


n_train, n_test, num_inputs, batch_size = 20, 100, 200, 5
num_epochs, lr = 100, 0.003


def init_params():
    w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return [w, b]


def l2_penalty(w):
    return torch.sum(w.pow(2)) / 2


def train(lambd, train_iter, test_iter):
    w, b = init_params()

    def net(X):
        return linreg(X, w, b)

    for epoch in range(num_epochs):
        for X, y in train_iter:
            # The penalty joins the loss; broadcasting adds it to every example's loss.
            l = squared_loss(net(X), y) + lambd * l2_penalty(w)
            l.sum().backward()
            sgd([w, b], lr, batch_size)
    print("L2 norm of w:", torch.norm(w).item())
    return {
        "norm": torch.norm(w).item(),
        "train_loss": evaluate_loss(net, train_iter, squared_loss),
        "test_loss": evaluate_loss(net, test_iter, squared_loss),
    }


def train_concise(wd, train_iter, test_iter):
    net = nn.Sequential(nn.Linear(num_inputs, 1))
    for param in net.parameters():
        param.data.normal_()
    loss = nn.MSELoss(reduction="none")
    # Only the weight decays; the bias is left alone.
    trainer = torch.optim.SGD(
        [{"params": net[0].weight, "weight_decay": wd}, {"params": net[0].bias}], lr=lr
    )
    for epoch in range(num_epochs):
        for X, y in train_iter:
            trainer.zero_grad()
            l = loss(net(X), y)
            l.mean().backward()
            trainer.step()
    print("L2 norm of w:", net[0].weight.norm().item())
    return {
        "norm": net[0].weight.norm().item(),
        "train_loss": evaluate_loss(net, train_iter, loss),
        "test_loss": evaluate_loss(net, test_iter, loss),
    }


def main():
    torch.manual_seed(0)
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    train_data = synthetic_data(true_w, true_b, n_train)
    train_iter = load_array(train_data, batch_size)
    test_data = synthetic_data(true_w, true_b, n_test)
    test_iter = load_array(test_data, batch_size, is_train=False)
    return {
        "scratch_no_decay": train(0, train_iter, test_iter),
        "scratch_decay": train(3, train_iter, test_iter),
        "concise_no_decay": train_concise(0, train_iter, test_iter),
        "concise_decay": train_concise(3, train_iter, test_iter),
    }


if __name__ == "__main__":
    main()
