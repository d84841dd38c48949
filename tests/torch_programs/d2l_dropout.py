# d2l.ai 5.6 (4.6 in the first edition), dropout: a dropout layer from scratch, an MLP that
# drops only while self.training, then the concise net with nn.Dropout; synthetic images.
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


def dropout_layer(X, dropout):
    """Zero each element with probability `dropout`, and scale the kept ones by 1/(1-dropout)."""
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 64, 10, 256, 256
dropout1, dropout2 = 0.2, 0.5


class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2, is_training=True):
        super(Net, self).__init__()
        self.num_inputs = num_inputs
        self.training = is_training
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
        if self.training == True:
            H1 = dropout_layer(H1, dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.training == True:
            H2 = dropout_layer(H2, dropout2)
        return self.lin3(H2)


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


def fit(net, train_iter, test_iter, num_epochs=10, lr=0.5):
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
    return history


def main(batch_size=64):
    torch.manual_seed(0)
    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    layer_checks = {
        "X": X,
        "keep_all": dropout_layer(X, 0.0),
        "drop_half": dropout_layer(X, 0.5),
        "drop_all": dropout_layer(X, 1.0),
    }

    train_iter, test_iter = load_data_synthetic(batch_size)
    net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
    scratch_history = fit(net, train_iter, test_iter)

    concise = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 256),
        nn.ReLU(),
        nn.Dropout(dropout1),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Dropout(dropout2),
        nn.Linear(256, 10),
    )
    concise.apply(init_weights)
    concise_history = fit(concise, train_iter, test_iter)

    # nn.Dropout drops only in training mode.
    images, _ = next(iter(test_iter))
    concise.eval()
    with torch.no_grad():
        eval_difference = (concise(images) - concise(images)).abs().max().item()
    concise.train()
    with torch.no_grad():
        train_difference = (concise(images) - concise(images)).abs().max().item()
    ones = torch.ones(100, 100)
    dropout = nn.Dropout(0.5)
    dropped = dropout(ones)

    return {
        **layer_checks,
        "scratch_accuracies": scratch_history,
        "concise_accuracies": concise_history,
        "eval_difference": eval_difference,
        "train_difference": train_difference,
        "dropped_fraction": (dropped == 0).float().mean().item(),
        "kept_values": sorted(set(dropped.flatten().tolist())),
    }


if __name__ == "__main__":
    main()
