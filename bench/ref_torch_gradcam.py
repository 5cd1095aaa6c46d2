#!/usr/bin/python3
"""bench/ref_torch_gradcam.py - the cost of a Grad-CAM heatmap in PyTorch on
CPU, computed the way pytorch-grad-cam does it, as a reference for sulcus's
`cam` stage.

usage: python3 bench/ref_torch_gradcam.py MODEL SIZE BATCH ITERS THREADS
       MODEL: resnet18 or vgg16

How: torchvision's MODEL with 3 classes, eval mode, torch.set_num_threads
(THREADS), a fixed random batch.  forward: ITERS batches under no_grad.
gradcam: ITERS batches of what pytorch-grad-cam does per call: a forward
with hooks on the target layer (resnet18: layer4, vgg16: the last conv
block's ReLU), the predicted class's logit summed over the batch, a full
backward (autograd computes every parameter's gradient too, as
pytorch-grad-cam does not disable them), weights = mean of the gradients,
map = ReLU(sum_k w_k A_k).  Prints:
  torch forward images/s: X
  torch gradcam heatmaps/s: Y
  torch forward passes per heatmap: X / Y
"""
import os
import sys
import time


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    try:
        import torch
        import torchvision
    except ImportError:
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        sys.stderr.write("ref_torch_gradcam.py: needs Debian's python3-torch and python3-torchvision\n")
        return 2
    name, size, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model = getattr(torchvision.models, name)(num_classes=3).eval()
    layer = model.layer4 if name.startswith("resnet") else model.features[-2]
    x = torch.rand(batch, 3, size, size)

    with torch.no_grad():
        model(x)
        t0 = time.perf_counter()
        for _ in range(iters):
            model(x)
        fwd = iters * batch / (time.perf_counter() - t0)

    store = {}
    layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    layer.register_full_backward_hook(lambda m, gi, go: store.__setitem__("g", go[0]))

    def gradcam():
        model.zero_grad()
        out = model(x)
        cls = out.argmax(1)
        out.gather(1, cls[:, None]).sum().backward()
        w = store["g"].mean((2, 3), keepdim=True)
        return torch.relu((w * store["a"]).sum(1))

    gradcam()
    t0 = time.perf_counter()
    for _ in range(iters):
        gradcam()
    gc = iters * batch / (time.perf_counter() - t0)
    print("torch forward images/s: %.2f" % fwd)
    print("torch gradcam heatmaps/s: %.2f" % gc)
    print("torch forward passes per heatmap: %.2f" % (fwd / gc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
