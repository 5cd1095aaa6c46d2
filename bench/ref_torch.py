#!/usr/bin/python3
"""bench/ref_torch.py - CPU training and inference throughput (images/s) of a
torchvision CNN, as a reference for our own Darknet trainer.

usage: python3 bench/ref_torch.py MODEL SIZE BATCH ITERS THREADS
       MODEL: resnet18, resnet50, vgg16, vgg19, alexnet, or vgg16_gap,
       vgg19_gap, alexnet_gap: the feature layers (ReLU, no batchnorm)
       without the last max pool, then a global average pool and a linear
       layer of 3 classes: the GAP heads of our cfgs (cfg/*_gap.cfg).
       alexnet is the paper's (96-256-384-384-256 filters, as cfg/alexnet_*.cfg),
       built from torchvision's AlexNet, whose own filters are 64-192-384-256-256
       (40% fewer operations).

How: torchvision's MODEL, randomly initialised with num_classes=3, on
torch.set_num_threads(THREADS); one fixed random batch of BATCH x 3 x SIZE x
SIZE inputs in [0, 1) with random labels (seeded: torch.manual_seed(0)).
  train: model.train(); each step is zero_grad, forward, cross-entropy,
         backward, SGD step (lr 0.01, momentum 0.9, weight decay 5e-4, as in
         Darknet's cfgs); 2 warm-up steps, then ITERS steps timed with
         time.perf_counter(): images/s = ITERS * BATCH / elapsed.
  infer: model.eval() under torch.no_grad(); 1 warm-up batch, then ITERS
         batches timed the same way.
Prints exactly two lines on stdout:
  torch train images/s: X
  torch infer images/s: X

Caveats: no data loading, no augmentation and no input normalisation are
timed (the input tensor is reused), so this is the compute alone, unlike the
Darknet CLI whose loader threads run alongside. Batchnorm, dropout and the adaptive
average pooling of torchvision's models are included as they are: AlexNet and
VGG pool to 6x6 / 7x7 whatever SIZE is, so their 4096-wide FC heads (55 and
120 million weights) dominate training at small SIZE (the SGD update alone
touches every weight) and differ from Darknet's alexnet.cfg / vgg-16.cfg. Debian's python3-torch 1.13 is used; its intra-op
threads are real OS threads, so on a loaded machine THREADS > free cores
slows it down. Figures from a small ITERS are noisy: use ITERS >= 5.

Debian's torch lives in /usr/bin/python3's dist-packages: when `python3` on
PATH is another interpreter without torch (pyenv, venv), this script re-runs
itself under /usr/bin/python3.
"""
import os
import sys
import time

MODELS = ("resnet18", "resnet50", "vgg16", "vgg19", "alexnet", "vgg16_gap", "vgg19_gap", "alexnet_gap")
ME = "bench/ref_torch.py"


def die(msg):
    print("%s: %s" % (ME, msg), file=sys.stderr)
    sys.exit(2)


def import_torch():
    try:
        import torch
        import torchvision
        return torch, torchvision
    except ImportError as e:
        system = "/usr/bin/python3"
        here = os.path.realpath(sys.executable)
        if (os.path.exists(system) and here != os.path.realpath(system)
                and not os.environ.get("REF_TORCH_REEXEC")):
            os.environ["REF_TORCH_REEXEC"] = "1"
            os.execv(system, [system, os.path.abspath(__file__)] + sys.argv[1:])
        die("cannot import torch/torchvision (%s): apt-get install "
            "python3-torch python3-torchvision" % e)


def main(argv):
    if len(argv) != 6 or argv[1] not in MODELS:
        die("usage: python3 %s MODEL SIZE BATCH ITERS THREADS (MODEL: %s)"
            % (ME, ", ".join(MODELS)))
    try:
        size, batch, iters, threads = (int(a) for a in argv[2:6])
    except ValueError:
        die("SIZE, BATCH, ITERS and THREADS must be integers")
    if min(size, batch, iters, threads) < 1:
        die("SIZE, BATCH, ITERS and THREADS must be positive")
    name = argv[1]

    torch, torchvision = import_torch()
    torch.manual_seed(0)
    torch.set_num_threads(threads)

    def paper_alexnet():
        """torchvision's AlexNet with the paper's filter counts (our cfgs')."""
        m = torchvision.models.alexnet(num_classes=3)
        nn = torch.nn
        m.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        return m

    if name.endswith("_gap"):
        base = paper_alexnet() if name == "alexnet_gap" else getattr(torchvision.models, name[:-4])()
        features = base.features
        channels = [m for m in features if isinstance(m, torch.nn.Conv2d)][-1].out_channels
        features = torch.nn.Sequential(*list(features)[:-1])  # our GAP heads drop pool5
        model = torch.nn.Sequential(features, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                    torch.nn.Linear(channels, 3))
    elif name == "alexnet":
        model = paper_alexnet()
    else:
        model = getattr(torchvision.models, name)(num_classes=3)
    x = torch.rand(batch, 3, size, size)
    y = torch.randint(0, 3, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                          weight_decay=5e-4)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    try:
        model.train()
        for _ in range(2):
            train_step()
        t0 = time.perf_counter()
        for _ in range(iters):
            loss = train_step()
        t_train = time.perf_counter() - t0

        model.eval()
        with torch.no_grad():
            model(x)
            t0 = time.perf_counter()
            for _ in range(iters):
                model(x)
            t_infer = time.perf_counter() - t0
    except RuntimeError as e:  # e.g. SIZE too small for the model
        die("%s at %dx%d: %s" % (name, size, size, e))

    print("%s: %s %dx%d batch %d, %d threads, torch %s: train %.3f s/batch "
          "(last loss %.4f), infer %.3f s/batch"
          % (ME, name, size, size, batch, threads, torch.__version__,
             t_train / iters, loss, t_infer / iters), file=sys.stderr)
    print("torch train images/s: %.2f" % (iters * batch / t_train))
    print("torch infer images/s: %.2f" % (iters * batch / t_infer))


if __name__ == "__main__":
    main(sys.argv)
