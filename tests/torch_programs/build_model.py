# The official "Build the Neural Network" tutorial: a Module subclass for 28x28 images, its
# layers one at a time (Flatten, Linear, ReLU, Sequential, Softmax) and its parameters.
import torch
from torch import nn

device = "cuda" if torch.cuda.is_available() else "cpu"


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def main():
    torch.manual_seed(0)
    model = NeuralNetwork().to(device)
    print(model)

    X = torch.rand(1, 28, 28, device=device)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)

    input_image = torch.rand(3, 28, 28)
    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    layer1 = nn.Linear(in_features=28 * 28, out_features=20)
    hidden1 = layer1(flat_image)
    hidden1 = nn.ReLU()(hidden1)

    seq_modules = nn.Sequential(flatten, layer1, nn.ReLU(), nn.Linear(20, 10))
    softmax = nn.Softmax(dim=1)
    batch_probab = softmax(seq_modules(input_image))

    parameters = []
    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
        parameters.append((name, tuple(param.size())))

    return {
        "model_repr": repr(model),
        "logits_shape": tuple(logits.shape),
        "probab_row_sums": pred_probab.sum(dim=1).detach(),
        "y_pred": y_pred,
        "flat_image_size": tuple(flat_image.size()),
        "hidden1_shape": tuple(hidden1.shape),
        "hidden1_min": hidden1.min().item(),
        "batch_probab_shape": tuple(batch_probab.shape),
        "batch_probab_row_sums": batch_probab.sum(dim=1).detach(),
        "parameters": parameters,
        "parameter_count": sum(p.numel() for p in model.parameters()),
    }


if __name__ == "__main__":
    main()
