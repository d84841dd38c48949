# The official "Basics" series on synthetic data in place of FashionMNIST: a Dataset subclass
# and DataLoader (Datasets & DataLoaders), the train_loop/test_loop of "Optimizing Model
# Parameters", and saving and reloading the weights (Save and Load the Model).
import os
import tempfile

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class SyntheticImages(Dataset):
    """Ten classes of 8x8 images: a fixed prototype per class plus Gaussian noise."""

    def __init__(self, size, prototypes, noise=0.5):
        self.labels = torch.randint(0, 10, (size,))
        self.images = prototypes[self.labels] + noise * torch.randn(size, 8, 8)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.images[idx], self.labels[idx]


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def train_loop(dataloader, model, loss_fn, optimizer, batch_size):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 10 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct, test_loss


def main(epochs=5, learning_rate=0.1, batch_size=64):
    torch.manual_seed(0)
    prototypes = torch.randn(10, 8, 8)
    training_data = SyntheticImages(1000, prototypes)
    test_data = SyntheticImages(300, prototypes)
    train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    train_features, train_labels = next(iter(train_dataloader))

    model = NeuralNetwork()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    history = [test_loop(test_dataloader, model, loss_fn)]
    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer, batch_size)
        history.append(test_loop(test_dataloader, model, loss_fn))

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model_weights.pth")
        torch.save(model.state_dict(), path)
        reloaded = NeuralNetwork()
        reloaded.load_state_dict(torch.load(path, weights_only=True))
    reloaded.eval()
    with torch.no_grad():
        X, _ = next(iter(test_dataloader))
        reload_difference = (reloaded(X) - model(X)).abs().max().item()

    return {
        "batch_shapes": [tuple(train_features.shape), tuple(train_labels.shape)],
        "label_is_int64": train_labels.dtype == torch.int64,
        "batches": [len(train_dataloader), len(test_dataloader)],
        "accuracies": [accuracy for accuracy, _ in history],
        "losses": [loss for _, loss in history],
        "reload_difference": reload_difference,
    }


if __name__ == "__main__":
    main()
