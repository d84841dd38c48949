# The official "Automatic Differentiation with torch.autograd" tutorial: a one-layer network
# with a logistic loss, grad_fn, switching tracking off, and Jacobian-vector products.
import torch


def main():
    torch.manual_seed(0)
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    has_grad_fns = z.grad_fn is not None and loss.grad_fn is not None
    loss.backward()

    z = torch.matmul(x, w) + b
    tracked = z.requires_grad
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    untracked = z.requires_grad
    z = torch.matmul(x, w) + b
    z_det = z.detach()

    # out is a matrix: backward needs the vector v of a vector-Jacobian product v^T J.
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first_call = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second_call = inp.grad.clone()  # gradients accumulate
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    after_zeroing = inp.grad

    return {
        "x": x,
        "y": y,
        "w": w.detach(),
        "b": b.detach(),
        "loss": loss.item(),
        "w_grad": w.grad,
        "b_grad": b.grad,
        "has_grad_fns": has_grad_fns,
        "tracked": tracked,
        "untracked": untracked,
        "detached_requires_grad": z_det.requires_grad,
        "first_call": first_call,
        "second_call": second_call,
        "after_zeroing": after_zeroing,
    }


if __name__ == "__main__":
    print(main())
