# "Learning PyTorch with Examples" (the two-layer-network edition): ReLU as a custom autograd
# Function, in a network fit to random data by plain gradient descent.
import torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


def main(steps=300, learning_rate=1e-6):
    dtype = torch.float
    device = torch.device("cpu")
    N, D_in, H, D_out = 64, 1000, 100, 10  # batch, input, hidden and output sizes

    torch.manual_seed(0)
    x = torch.randn(N, D_in, device=device, dtype=dtype)
    y = torch.randn(N, D_out, device=device, dtype=dtype)
    w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

    # At the start, MyReLU must give the gradients the built-in relu gives.
    (MyReLU.apply(x.mm(w1)).mm(w2) - y).pow(2).sum().backward()
    custom_grads = [w1.grad.clone(), w2.grad.clone()]
    w1.grad, w2.grad = None, None
    (torch.relu(x.mm(w1)).mm(w2) - y).pow(2).sum().backward()
    builtin_grads = [w1.grad.clone(), w2.grad.clone()]
    w1.grad, w2.grad = None, None

    losses = []
    for t in range(steps):
        relu = MyReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()

    return {
        "custom_grads": custom_grads,
        "builtin_grads": builtin_grads,
        "first_loss": losses[0],
        "last_loss": losses[-1],
    }


if __name__ == "__main__":
    print(main())
