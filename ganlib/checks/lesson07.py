"""Checkers for lesson 07, conditional GANs: one-hot labels, the conditional generator, the
discriminator that concatenates the label, the projection discriminator, the conditional training
step, and whether the label really controls the class.

The networks are built for other sizes than the notebook's (7 classes, a latent of 12) and run
on labels chosen to expose the usual mistakes: a batch that misses the last classes (a one-hot
as wide as the largest label), one sample's label changed (a label that leaks into the other
samples' images or verdicts, or is ignored), and a copy of the network on a second device (labels
made on the CPU). torch's complaints are translated into the mistake behind them.

The training step runs on a toy pair that records every call, under a ``training.StepWatch``:
at each optimizer step the gradients are compared with those of the conditional losses,
recomputed on fresh copies, and with those of the usual mistakes (the fakes judged against the
real batch's labels, ...). :func:`label_control` finally trains the learner's own networks with
the learner's step on a toy set of digits for a few seconds and asks the course's digit
classifier whether the samples show the classes they were asked for.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlib import losses

from . import CheckFailed, build, call, expect_tensor, passed, seeded
from .probes import LEAKY_SLOPE, LEARNABLE, LayerCall, bce, expect_gradients, layers, trace
from .training import (
    NO_GRADS,
    StepWatch,
    as_number,
    expect_step_signature,
    expect_step_values,
    expect_trainable,
    expect_updated,
    gradient_mistake,
    grads,
    same_grads,
    verdict_mistakes,
    weights,
)

__all__ = [
    "one_hot",
    "generator",
    "concat_discriminator",
    "projection_discriminator",
    "train_step",
    "label_control",
]

IMAGE_SHAPE = (1, 28, 28)
#: The networks are checked for these sizes, not the notebook's: hard-coded 10s and 100s show.
_CLASSES = 7
_Z = 12
_BATCH = 14  # two of each class
#: A batch without the last classes: a one-hot built as wide as the largest label breaks on it.
_FEW_CLASSES = torch.tensor([0, 1, 2, 1, 0, 2])
_ON_THE_DEVICE = (
    "make new tensors (latents, labels, one-hot rows) on the device of the data they go with"
)
_DEVICE_ERRORS = ("expected device", "same device", "device meta", "is not on the expected device")


def _labels(n: int = _BATCH, classes: int = _CLASSES) -> Tensor:
    return torch.arange(n) % classes


def _on_meta(module: nn.Module) -> nn.Module | None:
    """A copy of ``module`` on the meta device (shapes, no numbers), or None if it cannot be."""
    try:
        return copy.deepcopy(module).to("meta")
    except Exception:  # noqa: BLE001 - a module that will not move: no device probe for it
        return None


def _device_problem(found: str) -> bool:
    return any(e in found.lower() for e in _DEVICE_ERRORS)


# --------------------------------------------------------------------------- one-hot labels
def one_hot(fn: Callable[..., Any]) -> None:
    """``fn(labels, num_classes)``: float rows (N, num_classes), a 1 in column ``labels[i]``."""
    what = "one_hot"
    cases = [
        (torch.tensor([2, 0, 1, 2]), 5),  # the last classes missing from the batch
        (torch.tensor([6, 3, 0]), 7),
        (torch.tensor([9, 0, 4, 4, 7, 1]), 10),
        (torch.tensor([3]), 4),
    ]
    for labels, num_classes in cases:
        given = labels.clone()
        found = call(
            fn,
            labels,
            num_classes,
            what=what,
            hint="one_hot takes a batch of class numbers and the number of classes",
        )
        if not torch.equal(labels, given):
            raise CheckFailed(
                what,
                expected="the labels left as they were",
                found="one_hot changed the labels it was given (in place)",
                hint="build new rows; the labels are still needed afterwards",
            )
        rows = expect_tensor(found, what, hint="return the one-hot rows as a tensor")
        expected = torch.eye(num_classes)[labels]
        case = f"labels {labels.tolist()}, num_classes={num_classes}"
        if tuple(rows.shape) != tuple(expected.shape):
            n, shape = len(labels), tuple(rows.shape)
            if shape == (n, int(labels.max()) + 1):
                hint = (
                    "the width comes from num_classes, not from the largest label in the batch: "
                    "a batch may miss the last classes, and the network's layer has a fixed width"
                )
            elif shape == (n, 10):
                hint = "the number of classes is an argument: build as many columns as it says"
            elif shape == (num_classes, n):
                hint = "one row per label (N, num_classes), one column per class"
            elif rows.numel() == expected.numel():
                hint = "one row per label and nothing else: shape (N, num_classes)"
            else:
                hint = "one row per label, one column per class"
            raise CheckFailed(
                what,
                expected=f"shape {tuple(expected.shape)} for {case}",
                found=f"shape {shape}",
                hint=hint,
            )
        if not rows.is_floating_point():
            raise CheckFailed(
                what,
                expected="float numbers (0.0 and 1.0)",
                found=f"dtype {rows.dtype}",
                hint="the rows go into a network, which multiplies them with float weights: "
                "make them float",
            )
        if not torch.equal(rows.float(), expected):
            hint = "row i holds a 1 in the column of class labels[i] and 0 everywhere else"
            if torch.equal(rows.float(), torch.eye(num_classes)[(labels - 1) % num_classes]):
                hint = "class 0 is the first column: the column index is the label itself"
            elif torch.equal(rows.float(), 1 - expected):
                hint = "the 1 marks the label's column, every other column is 0"
            raise CheckFailed(
                what,
                expected=f"{expected.tolist()} for {case}",
                found=f"{rows.tolist()}",
                hint=hint,
            )
    _expect_one_hot_on_device(fn)
    passed(what, "float rows (N, num_classes), one 1 in each, on the labels' device")


def _expect_one_hot_on_device(fn: Callable[..., Any]) -> None:
    """Rows for labels on another device must be made there (here: the meta device)."""
    labels = torch.tensor([2, 0, 1]).to("meta")
    try:
        rows = call(fn, labels, 5, what="one_hot")
    except CheckFailed as failure:
        if not _device_problem(failure.found):
            return  # an operation the meta device lacks: nothing to say about devices
        rows = None
    if not isinstance(rows, Tensor) or rows.device.type != "meta":
        raise CheckFailed(
            "one_hot on a GPU",
            expected="the rows on the same device as the labels",
            found="rows made on the CPU for labels on another device (the check tried a second "
            "device; on a GPU this fails in the network)",
            hint=_ON_THE_DEVICE,
        )


# --------------------------------------------------------------------------- torch's errors
_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
_CHANNELS = re.compile(r"to have (\d+) channels, but got (\d+) channels")
_SIZES = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)")


def _translate(failure: CheckFailed, net: str, first_input: str, first_size: int) -> CheckFailed:
    """Name the mistake behind torch's error in a conditional network.

    ``net`` is "generator" or "discriminator"; the label joins ``first_input`` (z or the flat
    image) of ``first_size`` numbers per sample.
    """
    found = failure.found
    low = found.lower()
    label_vector = (
        "the label's vector (embed_dim numbers for an embedding, num_classes for a one-hot)"
    )
    if "positional argument" in low and ("were given" in low or "takes" in low):
        mistake = "forward() does not take the labels"
        hint = f"a conditional {net} is called with the labels too: forward({first_input}, labels)"
    elif "must match except in dimension 0" in low:
        mistake = f"{first_input} and the label joined along the batch dimension"
        hint = (
            f"each sample's {first_input} and its label's vector go side by side: join them along "
            "the feature dimension, so that each row is still one sample"
        )
    elif "must have same number of dimensions" in low or "same number of dimensions" in low:
        mistake = f"{first_input} and the label's vector joined with different numbers of dims"
        hint = (
            f"the label's vector must be a batch of rows, (N, size), like {first_input}: look "
            "up the embedding of the flat batch of N labels"
        )
    elif "index out of range" in low:
        mistake = "a label beyond the end of the embedding table"
        hint = (
            f"the table holds one vector per class: build it for num_classes rows (the check "
            f"uses {_CLASSES} classes)"
        )
    elif ("long" in low and ("scalar type" in low or "indices" in low)) or "embedding" in low:
        mistake = "the embedding got labels that are not whole numbers"
        hint = "an embedding looks its rows up by class number: give it the integer labels"
    elif (match := _MATMUL.search(found)) is not None:
        got, wanted = int(match.group(2)), int(match.group(3))
        mistake = f"the first layer takes {wanted} numbers per sample but gets {got}"
        if wanted - first_size == 10 != _CLASSES:
            hint = (
                f"the layer was built for 10 classes; the number of classes is an argument "
                f"(the check uses {_CLASSES})"
            )
        elif wanted - first_size == _CLASSES and got != wanted:
            hint = (
                f"the layer was built for {first_input} and a one-hot of num_classes, but gets "
                f"{got - first_size} numbers for the label: build it for the vector it is fed "
                "(embed_dim numbers for an embedding)"
            )
        else:
            hint = (
                f"build the first layer for {first_input} ({first_size} numbers) plus "
                f"{label_vector}"
            )
    elif (match := _CHANNELS.search(found)) is not None:
        wanted, got = int(match.group(1)), int(match.group(2))
        mistake = f"the first convolution takes {wanted} channels but gets {got}"
        hint = (
            "the label's plane joins the image as one more channel: build the first convolution "
            "for the image's channels + 1"
            if got > wanted
            else "the label's plane must become one more channel of each image: join the two "
            "along the channel dimension (not the batch, height or width)"
        )
    elif (match := _SIZES.search(found)) is not None:
        mistake = f"two vectors of different sizes ({match.group(1)} and {match.group(2)}) combined"
        hint = (
            "the projection's inner product pairs the class embedding with the features phi(x): "
            "the embedding needs as many numbers as phi(x) has features"
        )
    else:
        return failure
    return CheckFailed(
        failure.what,
        expected=failure.expected,
        found=f"{mistake} (torch says: {found[:160]})",
        hint=hint,
    )


def _run(
    net: nn.Module,
    x: Tensor,
    labels: Tensor,
    what: str,
    kind: str,
    first_input: str,
    first_size: int,
) -> tuple[Any, list[LayerCall]]:
    try:
        return trace(net, x, labels, what=what)
    except CheckFailed as failure:
        raise _translate(failure, kind, first_input, first_size) from None


def _build(cls_or_module: Any, what: str, **kwargs: Any) -> nn.Module:
    try:
        return build(cls_or_module, what=what, num_classes=_CLASSES, **kwargs)
    except CheckFailed as failure:
        if "unexpected keyword" in failure.found:
            raise CheckFailed(
                what,
                expected=f"a network built for any number of classes, e.g. num_classes={_CLASSES}",
                found=failure.found,
                hint="keep the parameters of the exercise cell: num_classes (and z_dim for G) "
                "are arguments, so the network fits other data",
            ) from None
        raise


# --------------------------------------------------------------------------- shared probes
def _expect_label_matters(
    net: nn.Module, x: Tensor, labels: Tensor, out: Tensor, what: str, kind: str
) -> None:
    """The output depends on the label, and each sample's only on its own label."""
    changed = labels.clone()
    changed[0] = (changed[0] + 3) % _CLASSES
    with torch.no_grad():
        again = call(net, x, changed, what=what)
    if not torch.allclose(again[1:], out[1:], atol=1e-5):
        raise CheckFailed(
            what,
            expected="each sample to depend on its own label only",
            found="changing the label of sample 0 changed other samples",
            hint="keep the batch dimension apart: sample i gets the vector of labels[i] and no "
            "other sample's (no mean or sum over the batch, no shifting or reshaping across it)",
        )
    if torch.allclose(again[0], out[0], atol=1e-6):
        thing = "image" if kind == "generator" else "verdict"
        raise CheckFailed(
            what,
            expected=f"the {thing} to change with the label",
            found=f"the same {thing} for another label: the label is ignored",
            hint=f"the label must reach the {kind}'s layers: its vector joins the "
            + ("latent z at the input" if kind == "generator" else "image's numbers"),
        )


def _expect_any_batch_of_labels(
    net: nn.Module, x: Tensor, what: str, kind: str, first_input: str, first_size: int
) -> None:
    """A batch that misses the last classes must work too (a one-hot's width is num_classes)."""
    try:
        call(net, x[: len(_FEW_CLASSES)], _FEW_CLASSES, what=what)
    except CheckFailed as failure:
        raise CheckFailed(
            what,
            expected=f"any batch of labels to work, e.g. {_FEW_CLASSES.tolist()} of "
            f"{_CLASSES} classes",
            found=f"an error for a batch without the last classes ({failure.found[:160]})",
            hint="a one-hot row has num_classes columns whatever the batch holds; its width "
            "must not come from the largest label in the batch",
        ) from None


def _expect_on_device(net: nn.Module, x: Tensor, labels: Tensor, what: str) -> None:
    """The network on a second device (meta) with its inputs there must not make CPU tensors."""
    twin = _on_meta(net)
    if twin is None:
        return
    try:
        call(twin, x.to("meta"), labels.to("meta"), what=what)
    except CheckFailed as failure:
        if _device_problem(failure.found):
            raise CheckFailed(
                f"{what} on a GPU",
                expected="every tensor made in forward on the device of its inputs",
                found="a tensor made on the CPU while the inputs are elsewhere (the check ran "
                "a copy on a second device; on a GPU this fails)",
                hint=_ON_THE_DEVICE,
            ) from None


def _expect_every_parameter_learns(net: nn.Module, out: Tensor, what: str) -> None:
    expect_gradients(
        net,
        out,
        what,
        hint="every layer built in __init__ (the label's embedding too) must be used in "
        "forward, without .detach()",
    )


def _scaled_output(net: nn.Module, calls: list[LayerCall], *inputs: Tensor, what: str) -> Tensor:
    """The output of a copy of ``net`` whose last learnable layer is 1000 times larger."""
    last = layers(calls)
    if not last:
        raise CheckFailed(
            what,
            expected="linear (or convolution) layers as nn.Module attributes",
            found="no nn.Linear, nn.Conv2d or nn.ConvTranspose2d ran in forward",
            hint="build the layers in __init__ and use them in forward",
        )
    twin = copy.deepcopy(net)
    layer = twin.get_submodule(last[-1].name)
    with torch.no_grad():
        layer.weight.mul_(1000)
        if getattr(layer, "bias", None) is not None:
            layer.bias.mul_(1000)
        return call(twin, *inputs, what=what)


# --------------------------------------------------------------------------- the generator
def generator(cls_or_module: Any, **kwargs: Any) -> None:
    """``Generator(z_dim, num_classes, ...)``: G(z, labels) -> (N, 1, 28, 28) images in [-1, 1],
    a function of each sample's own z and label."""
    what = "generator"
    with seeded(0):
        G = _build(cls_or_module, what, z_dim=_Z, **kwargs)
        G.train()
        z, labels = torch.randn(_BATCH, _Z), _labels()
        out, calls = _run(G, z, labels, what, "generator", "z", _Z)
        out = expect_tensor(
            out,
            what + " output",
            shape=(_BATCH, *IMAGE_SHAPE),
            hint="one image (1, 28, 28) per pair of latent and label"
            + (
                ": twice as many images as latents means z and the label's vector were "
                "stacked along the batch dimension instead of joined side by side"
                if isinstance(out, Tensor) and len(out) == 2 * _BATCH
                else ""
            ),
        )
        G.eval()
        with torch.no_grad():
            out = call(G, z, labels, what=what)
            other_z = call(G, torch.randn(_BATCH, _Z), labels, what=what)
        if torch.allclose(other_z, out, atol=1e-6):
            raise CheckFailed(
                what,
                expected="different images for different z",
                found="the same images for other latents: z is ignored",
                hint="z is the source of variety within a class: it goes into the first layer, "
                "beside the label's vector",
            )
        _expect_label_matters(G, z, labels, out, what, "generator")
        big = _scaled_output(G, calls, z, labels, what=what)
        _expect_tanh(out, big, what)
        G.train()
        _expect_every_parameter_learns(G, call(G, z, labels, what=what), what)
        G.eval()
        _expect_any_batch_of_labels(G, z, what, "generator", "z", _Z)
        _expect_on_device(G, z, labels, what)
    G.train()
    passed(
        what, f"(z, labels) -> ({_BATCH}, 1, 28, 28) in [-1, 1]; each image follows its own label"
    )


def _expect_tanh(out: Tensor, big: Tensor, what: str) -> None:
    if out.min() < -1 - 1e-5 or out.max() > 1 + 1e-5 or big.abs().max() > 1 + 1e-5:
        raise CheckFailed(
            what + " output range",
            expected="pixels in [-1, 1], like the scaled training images",
            found=f"values up to {max(out.abs().max(), big.abs().max()):.3g}",
            hint="end with a Tanh: its range (-1, 1) is the range of the real images",
        )
    if big.min() > -0.5:
        raise CheckFailed(
            what + " output range",
            expected="pixels in [-1, 1] (Tanh), reaching negative values",
            found=f"values from {big.min():.3g} to {big.max():.3g}: a sigmoid or ReLU at the end?",
            hint="end with a Tanh, whose range (-1, 1) matches the scaled images",
        )


# --------------------------------------------------------------------------- the discriminators
def _discriminator(cls_or_module: Any, what: str, shape_hint: str = "", **kwargs: Any) -> tuple:
    """Build D for 7 classes, run it on 28x28 images: (D, x, labels, out, calls)."""
    D = _build(cls_or_module, what, **kwargs)
    D.train()
    x, labels = torch.rand(_BATCH, *IMAGE_SHAPE) * 2 - 1, _labels()
    out, calls = _run(D, x, labels, what, "discriminator", "image", 784)
    out = expect_tensor(
        out,
        what + " output",
        shape=(_BATCH, 1),
        hint="one score per pair of image and label: shape (N, 1)" + shape_hint,
    )
    D.eval()  # no dropout from here on: the same input gives the same verdict
    with torch.no_grad():
        out = call(D, x, labels, what=what)
        big = _scaled_output(D, calls, x, labels, what=what)
    if big.min() >= 0 and big.max() <= 1:
        raise CheckFailed(
            what + " output",
            expected="raw scores (logits), unbounded",
            found="outputs that stay in [0, 1]: a sigmoid at the end",
            hint="drop the final sigmoid: the losses take logits and apply it themselves",
        )
    with torch.no_grad():
        _expect_label_matters(D, x, labels, out, what, "discriminator")
        _expect_any_batch_of_labels(D, x, what, "discriminator", "image", 784)
    D.train()
    _expect_every_parameter_learns(D, call(D, x, labels, what=what), what)
    D.eval()
    _expect_on_device(D, x, labels, what)
    return D, x, labels, out, calls


def concat_discriminator(cls_or_module: Any, **kwargs: Any) -> None:
    """``ConcatDiscriminator(num_classes, ...)``: D(images, labels) -> (N, 1) logits, the label's
    embedding joined to the flat image at the input."""
    what = "concat discriminator"
    with seeded(0):
        D, *_ = _discriminator(cls_or_module, what, **kwargs)
    D.train()
    passed(what, f"(images, labels) -> ({_BATCH}, 1) logits; each verdict sees its own label")


def projection_discriminator(cls_or_module: Any, **kwargs: Any) -> None:
    """``ProjectionDiscriminator(num_classes, ...)``: D(x, y) = head(phi(x)) + <embed(y), phi(x)>
    (Miyato and Koyama, 2018)."""
    what = "projection discriminator"
    with seeded(0):
        D, x, labels, out, _ = _discriminator(
            cls_or_module,
            what,
            shape_hint="; the elementwise product of the class vector and the features becomes "
            "the inner product once summed over the features, one number per sample",
            **kwargs,
        )
        with torch.no_grad():
            _, calls = trace(D, x, labels, what=what)
        _expect_projection(calls, out, x, what)
    D.train()
    passed(
        what,
        f"(images, labels) -> ({_BATCH}, 1) = head(phi(x)) + <embed(y), phi(x)>, "
        "phi(x) the input of the last layer",
    )


def _expect_projection(calls: list[LayerCall], out: Tensor, x: Tensor, what: str) -> None:
    """out == head(phi) + sum(embed(y) * phi): the head is the last learnable layer (one output)
    and phi its input; the embedding is the nn.Embedding that ran."""
    embeddings = layers(calls, (nn.Embedding,))
    if len(embeddings) != 1:
        raise CheckFailed(
            what,
            expected="one nn.Embedding: a vector per class, to pair with the features",
            found=f"{len(embeddings)} nn.Embedding layers ran",
            hint="the projection discriminator learns one vector per class in an embedding "
            "table with as many numbers as phi(x) has features",
        )
    heads = [c for c in layers(calls, LEARNABLE) if c.output.shape[-1] == 1]
    if not heads:
        raise CheckFailed(
            what,
            expected="a last layer that turns the features phi(x) into one number per image",
            found="no linear layer with one output ran",
            hint="D(x, y) = head(phi(x)) + <embed(y), phi(x)>: the head is a linear layer to 1",
        )
    head = heads[-1]
    phi, score, e = head.input.flatten(1), head.output.reshape(len(out), 1), embeddings[0].output
    if e.shape != phi.shape:
        raise CheckFailed(
            what,
            expected=f"the class embedding the size of phi(x), the head's input: {tuple(phi.shape)}",
            found=f"an embedding of shape {tuple(e.shape)}",
            hint="the inner product is with D's features phi(x), the head's input, not with the "
            "pixels: the class vectors need as many numbers as phi(x) has features"
            if e.shape[1] == x[0].numel()
            else "the inner product pairs each feature of phi(x) with a number of the class's "
            "vector: build the embedding with as many numbers as phi(x) has features",
        )
    reference = score + (e * phi).sum(dim=1, keepdim=True)
    if torch.allclose(out, reference, atol=1e-4, rtol=1e-4):
        return
    projection = out - score
    if torch.allclose(projection, (e * phi).mean(dim=1, keepdim=True), atol=1e-5):
        hint = (
            "the inner product sums the products over the features: a mean divides it by "
            "their number and shrinks the class's say"
        )
    elif torch.allclose(projection, e.sum(dim=1, keepdim=True), atol=1e-5):
        hint = (
            "the projection term multiplies the class's vector with the features phi(x) before "
            "summing: summed alone it is a bias per class, blind to the image"
        )
    elif torch.allclose(projection, torch.zeros_like(projection), atol=1e-6):
        hint = (
            "add the inner product <embed(y), phi(x)> to the head's score, after the head: "
            "multiplied into the features before the head it is no inner product"
        )
    else:
        hint = (
            "add the head's score of phi(x) and the inner product of the class's vector with "
            "the same phi(x) (the features that went into the head)"
        )
    raise CheckFailed(
        what,
        expected="head(phi(x)) + <embed(y), phi(x)>, phi(x) the input of the last layer",
        found="a verdict that is not that sum",
        hint=hint,
    )


# --------------------------------------------------------------------------- the training step
#: The toy the step is tried on: 6 real 1x6x6 images of 5 classes, a latent of 4 numbers; other
#: sizes than the notebook's, so a step that uses BATCH_SIZE, Z_DIM or 10 classes shows it.
_TOY_IMAGE = (1, 6, 6)
_TOY_BATCH = 6
_TOY_Z = 4
_TOY_CLASSES = 5
_TOY_LABELS = torch.tensor([3, 0, 4, 1, 1, 2])
_STEP = "train_step"
_D_STEP = "train_step: D update"
_G_STEP = "train_step: G update"
_PARAMS = ("D", "G", "d_optimizer", "g_optimizer", "z_dim", "num_classes")
_OWN_LABELS = (
    "D judges each fake against the label it was generated for: a fake 3 drawn for the label 7 "
    "is exactly what D must learn to reject, so pass D the fakes' own labels"
)


class _Log:
    """What the toy networks were called with during one call of the step, phase by phase (the
    number of optimizer steps taken so far: 0 while D learns, 1 while G learns)."""

    def __init__(self) -> None:
        self.phase = 0
        self.d_calls: list[tuple[int, Tensor, Tensor]] = []  # (phase, images, labels)
        self.g_calls: list[tuple[int, Tensor, Tensor, Tensor]] = []  # (phase, z, labels, out)
        self.devices: list[str] = []  # inputs that were not on the networks' device

    def made_from(self, image: Tensor) -> tuple[Tensor, int] | None:
        """The latent and label G turned into ``image`` (in any phase), or None."""
        for _, z, labels, out in self.g_calls:
            gaps = (out.reshape(len(out), -1) - image.reshape(1, -1)).abs().amax(dim=1)
            if gaps.numel() and gaps.min() <= 1e-6:
                i = int(gaps.argmin())
                return z[i], int(labels[i])
        return None


def _labels_in(labels: Any, what: str) -> Tensor:
    """The toy networks accept a batch of class numbers only (what nn.Embedding accepts)."""
    if not isinstance(labels, Tensor) or labels.dtype not in (torch.long, torch.int):
        found = type(labels).__name__ if not isinstance(labels, Tensor) else f"dtype {labels.dtype}"
        raise TypeError(f"expected scalar type Long for the labels of {what}, got {found}")
    return labels


class _ToyG(nn.Module):
    """A small conditional generator, (z (N, 4), labels (N,)) -> (N, 1, 6, 6), which logs."""

    def __init__(self, log: _Log | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(_TOY_CLASSES, 3)
        self.net = nn.Sequential(nn.Linear(_TOY_Z + 3, 36), nn.Tanh())
        self.log = log

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        labels = _labels_in(labels, "G")
        if self.log is not None and {z.device.type, labels.device.type} != {
            self.embed.weight.device.type
        }:
            self.log.devices.append("z" if z.device != self.embed.weight.device else "labels")
        out = self.net(torch.cat([z.reshape(len(z), -1), self.embed(labels)], 1))
        out = out.view(-1, *_TOY_IMAGE)
        if self.log is not None and out.device.type != "meta":
            self.log.g_calls.append(
                (self.log.phase, z.detach().clone(), labels.detach().clone(), out.detach().clone())
            )
        return out


class _ToyD(nn.Module):
    """A small projection discriminator (no batch norm, no dropout), which logs its inputs."""

    def __init__(self, log: _Log | None = None) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.LeakyReLU(LEAKY_SLOPE))
        self.head = nn.Linear(8, 1)
        self.embed = nn.Embedding(_TOY_CLASSES, 8)
        self.log = log

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        labels = _labels_in(labels, "D")
        if self.log is not None and labels.device != self.embed.weight.device:
            self.log.devices.append("labels")
        if self.log is not None and x.device.type != "meta":
            self.log.d_calls.append((self.log.phase, x.detach().clone(), labels.detach().clone()))
        features = self.phi(x)
        return self.head(features) + (self.embed(labels) * features).sum(1, keepdim=True)


def _call_step(watch: StepWatch, step: Callable[..., Any], gan: Any) -> Any:
    """The one place this module calls the learner's step, the way ``train.fit`` calls it."""
    return watch.call(
        step,
        gan.real,
        gan.labels,
        what=_STEP,
        D=gan.D,
        G=gan.G,
        d_optimizer=gan.d_optimizer,
        g_optimizer=gan.g_optimizer,
        z_dim=gan.z_dim,
        num_classes=gan.num_classes,
    )


class _ToyGAN:
    """The toy pair, their SGD optimizers, a labelled real batch, and the checks at each step."""

    z_dim, num_classes = _TOY_Z, _TOY_CLASSES

    def __init__(self, device: str = "cpu") -> None:
        self.log = _Log()
        self.D, self.G = _ToyD(self.log).to(device), _ToyG(self.log).to(device)
        self.real = (torch.rand(_TOY_BATCH, *_TOY_IMAGE) * 2 - 1).to(device)
        self.labels = _TOY_LABELS.to(device)
        self.d_optimizer = torch.optim.SGD(self.D.parameters(), lr=0.05)
        self.g_optimizer = torch.optim.SGD(self.G.parameters(), lr=0.05)
        self.watch = StepWatch(
            {"d": self.d_optimizer, "g": self.g_optimizer},
            on_step=self._on_step if device == "cpu" else None,
            backward_into=self.G,
            on_reused_graph=self._reused_graph,
        )
        self.errors: list[CheckFailed] = []
        self.expected: dict[str, float] = {}
        self.left = {"d": grads(self.D.parameters()), "g": grads(self.G.parameters())}

    def _fresh(self) -> tuple[_ToyD, _ToyG]:
        """Copies of the networks as they are now (before the optimizer step), without a log."""
        D, G = _ToyD(), _ToyG()
        D.load_state_dict(self.D.state_dict())
        G.load_state_dict(self.G.state_dict())
        return D, G

    def _on_step(self, name: str) -> None:
        try:
            order = self.watch.order
            if order != ["d", "g"][: len(order)]:
                raise CheckFailed(
                    _STEP,
                    expected="d_optimizer.step() once, then g_optimizer.step() once",
                    found="optimizer steps: " + " -> ".join(order),
                    hint="D learns first (one update), then G learns against the updated D",
                )
            self._check_d() if name == "d" else self._check_g()
        except CheckFailed as failure:
            self.errors.append(failure)  # raised after the call: the learner's code runs on
        self.left[name] = grads((self.D if name == "d" else self.G).parameters())
        self.log.phase += 1

    # --- what D scored ----------------------------------------------------------------------
    def _scored(self, phase: int, what: str) -> tuple[list, list]:
        """D's inputs in ``phase`` as (real rows: (index, label)), (fakes: (z, made for, scored
        with, real label at the same position))."""
        real_flat = self.real.reshape(len(self.real), -1)
        reals, fakes = [], []
        for p, x, labels in self.log.d_calls:
            if p != phase:
                continue
            if len(labels) != len(x):
                raise CheckFailed(
                    what,
                    expected="one label per image D scores",
                    found=f"{len(x)} images with {len(labels)} labels",
                    hint="every image D judges comes with its own label: as many labels as images",
                )
            for i, (image, label) in enumerate(zip(x.reshape(len(x), -1), labels, strict=True)):
                made = self.log.made_from(image)
                if made is not None:
                    position = int(self.labels[i]) if i < len(self.labels) else -1
                    fakes.append((made[0], made[1], int(label), position))
                    continue
                gaps = (real_flat - image).abs().amax(dim=1)
                if gaps.min() > 1e-6:
                    raise CheckFailed(
                        what,
                        expected="D scoring the real batch and G's fakes",
                        found="D scored images that are neither",
                        hint="D judges the real batch the step is given and the fakes G made",
                    )
                reals.append((int(gaps.argmin()), int(label)))
        return reals, fakes

    def _expect_own_labels(self, reals: list, fakes: list, what: str) -> None:
        for index, label in reals:
            if label != int(self.labels[index]):
                raise CheckFailed(
                    what,
                    expected="each real image scored with its own label",
                    found="real images scored with other labels"
                    + (" (those drawn for the fakes)" if self._scored_as_fakes(reals) else ""),
                    hint="a real image and its label are a pair from the data: D learns that "
                    "this pair is real, so pass the real batch's labels with the real batch",
                )
        wrong = [(made, scored, position) for _, made, scored, position in fakes if made != scored]
        if wrong:
            as_real = all(scored == position for _, scored, position in wrong)
            raise CheckFailed(
                what,
                expected="each fake scored with the label G drew it for",
                found="fakes scored with the real batch's labels"
                if as_real
                else "fakes scored with labels other than those G drew them for",
                hint=_OWN_LABELS,
            )

    def _scored_as_fakes(self, reals: list) -> bool:
        """Whether the real images were scored with the labels drawn for the fakes."""
        fake = self._fake_labels()
        return fake is not None and all(
            index < len(fake) and label == int(fake[index]) for index, label in reals
        )

    def _fake_labels(self) -> Tensor | None:
        made = [labels for p, _, labels, _ in self.log.g_calls if p == 0]
        return torch.cat(made) if made else None

    def _check_d(self) -> None:
        g_now = grads(self.G.parameters())
        if not same_grads(g_now, self.left["g"]) and any(g.abs().sum() > 0 for g in g_now):
            raise CheckFailed(
                _D_STEP,
                expected="D's loss to stop at the fakes (no gradient in G)",
                found="D's loss sent gradients into G",
                hint="D's update must not move G: score detached fakes in D's loss",
            )
        reals, fakes = self._scored(0, _D_STEP)
        if not reals or not fakes:
            raise CheckFailed(
                _D_STEP,
                expected="D scoring the real batch and fakes G made in this step",
                found="D never scored " + ("the real batch" if not reals else "G's fakes"),
                hint="D learns from both: this real batch with its labels, and as many new "
                "fakes with the labels they were drawn for",
            )
        self._expect_fake_labels(fakes)
        self._expect_own_labels(reals, fakes, _D_STEP)
        z = torch.stack([f[0] for f in fakes])
        y = torch.tensor([f[1] for f in fakes])
        D, G = self._fresh()
        real_logits, fake_logits = D(self.real, self.labels), D(G(z, y), y)
        reference = losses.d_loss_bce(real_logits, fake_logits)
        self.expected.update(
            d_loss=reference.item(),
            d_real=torch.sigmoid(real_logits).mean().item(),
            d_fake=torch.sigmoid(fake_logits).mean().item(),
            d_real_logit=real_logits.mean().item(),
            d_fake_logit=fake_logits.mean().item(),
        )
        mistakes = {
            "real images are D's label 1 and fakes 0: the two images or the two targets are "
            "swapped": losses.real_loss(fake_logits) + losses.fake_loss(real_logits),
            "D returns logits and the course's losses apply the sigmoid themselves: a sigmoid "
            "before the loss squashes twice": losses.d_loss_bce(
                torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
            ),
            "D's loss has two halves, one on the real batch and one on the fakes: the fakes' "
            "half is missing": losses.real_loss(real_logits),
            "D's loss has two halves, one on the real batch and one on the fakes: the real "
            "half is missing": losses.fake_loss(fake_logits),
            "label smoothing is not part of this step: D's target for real images is 1": (
                losses.d_loss_bce(real_logits, fake_logits, smooth=0.9)
            ),
        }
        self._stepped_with("d", reference, D, mistakes)

    def _expect_fake_labels(self, fakes: list) -> None:
        labels = self._fake_labels()
        z = torch.unique(torch.stack([f[0] for f in fakes]), dim=0)
        if len(z) != len(self.real):
            raise CheckFailed(
                _D_STEP,
                expected=f"as many fakes as real images ({len(self.real)})",
                found=f"{len(z)} fakes",
                hint="the batch size comes from the real batch the step is given, not from a "
                "setting of the notebook (the last batch, or a check, may be smaller)",
            )
        if labels is not None and len(labels) > 1 and (labels == labels[0]).all():
            raise CheckFailed(
                _D_STEP,
                expected="fakes of every class: labels drawn at random from 0 to num_classes - 1",
                found=f"every fake drawn for the class {int(labels[0])}",
                hint="G learns only the classes it is asked for: draw each fake's label at "
                "random, every class equally likely",
            )

    def _check_g(self) -> None:
        seen = [(x, labels) for p, x, labels in self.log.d_calls if p == 1]
        if not seen:
            raise CheckFailed(
                _G_STEP,
                expected="D scoring G's fakes again after D's update",
                found="no call of D during G's update",
                hint="G learns from the verdict of the updated D: score the fakes with D again "
                "after D's update",
            )
        _, fakes = self._scored(1, _G_STEP)
        if not fakes:
            raise CheckFailed(
                _G_STEP,
                expected="D scoring images that G generated",
                found="D was called on something else during G's update",
                hint="G's loss is D's verdict on G's own fakes",
            )
        self._expect_own_labels([], fakes, _G_STEP)
        z = torch.stack([f[0] for f in fakes])
        y = torch.tensor([f[1] for f in fakes])
        D, G = self._fresh()
        logits = D(G(z, y), y)
        reference = losses.g_loss_nonsaturating(logits)
        self.expected["g_loss"] = reference.item()
        mistakes = {
            "G wants its fakes called real: its target is 1, the label of real images, not 0": (
                bce(logits, 0.0)
            ),
            "the minimax loss log(1 - D(G(z))) barely moves G while D rejects its fakes: use "
            "the non-saturating loss, -log D(G(z))": losses.g_loss_minimax(logits),
            "D returns logits and the course's losses apply the sigmoid themselves: a sigmoid "
            "before the loss squashes twice": losses.g_loss_nonsaturating(torch.sigmoid(logits)),
        }
        self._stepped_with("g", reference, G, mistakes)

    def _stepped_with(
        self, name: str, loss: Tensor, net: nn.Module, mistakes: dict[str, Tensor]
    ) -> None:
        """The optimizer ``name`` stepped with the gradients of ``loss`` for ``net``, named by
        the mistake they match otherwise (lesson 00's table, on gradients)."""
        what = _D_STEP if name == "d" else _G_STEP
        hint = gradient_mistake(
            self.watch.grads[name][-1],
            loss,
            net.parameters(),
            stale=self.left[name],
            no_grads_hint=NO_GRADS[name],
            mistakes=mistakes,
        )
        if hint is None:
            return
        kind = (
            "d_loss_bce(D(real, labels), D(fake, fake_labels))"
            if name == "d"
            else "g_loss_nonsaturating(D(fake, fake_labels)) with D after its update"
        )
        raise CheckFailed(
            what,
            expected=f"the gradients of {kind}",
            found=f"other gradients at {name}_optimizer.step()",
            hint=hint,
        )

    def _reused_graph(self, failure: CheckFailed) -> CheckFailed:
        """Autograd refused a graph used twice, or changed by an optimizer step: say which."""
        if "d" not in self.watch.order or self.watch.backward_passes > 0:
            hint = "D's update must not reach G: score detached fakes in D's loss"
        else:
            hint = (
                "D's verdict from before its update was reused for G's loss: score the fakes "
                "with D again after D's update"
            )
        return CheckFailed(
            failure.what,
            expected="each backward through a graph built for it",
            found="a backward through a graph already used, or changed by an optimizer step "
            f"(torch says: {failure.found[:120]} ...)",
            hint=hint,
        )


def _step_error(failure: CheckFailed, gan: _ToyGAN) -> CheckFailed:
    """torch's errors a step makes on the toy, and the mistake behind each."""
    found = failure.found.lower()
    if "positional argument" in found and "labels" in found:
        mistake = "a network called without the labels"
        hint = "both networks of a conditional GAN take the labels: G(z, labels), D(images, labels)"
    elif "index out of range" in found:
        mistake = f"a label beyond the toy's {_TOY_CLASSES} classes"
        hint = (
            "draw the fakes' labels from 0 to num_classes - 1, with num_classes the step's "
            "argument (the toy has 5 classes), not a fixed 10"
        )
    elif "expected scalar type long" in found:
        mistake = "labels that are not whole class numbers"
        hint = "labels are integer class numbers, one per image, as the loader gives them"
    elif "mat1 and mat2" in found or ("shape" in found and "invalid for input" in found):
        mistake = "G got a latent of the wrong size"
        hint = (
            f"draw z with the z_dim the step is given (the toy's is {_TOY_Z}) and as many rows "
            "as real images, not the notebook's Z_DIM or BATCH_SIZE"
        )
    elif "must match except in dimension" in found or "size of tensor a" in found:
        mistake = "latents and labels for different numbers of images"
        hint = (
            "draw one latent and one label per real image: their number comes from the real "
            "batch the step is given, not from BATCH_SIZE"
        )
    elif "does not require grad" in found:
        mistake = "a loss with no gradient to follow"
        hint = (
            "G's loss must reach G: the fakes of G's update must not be detached"
            if "d" in gan.watch.order
            else "D's loss must reach D: do not detach D's verdicts"
        )
    else:
        return failure
    return CheckFailed(
        failure.what, expected=failure.expected, found=f"{mistake} ({failure.found})", hint=hint
    )


def train_step(step: Callable[..., Any]) -> None:
    """``step(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes)`` -> dict.

    Runs the step twice on a toy pair (6 real 1x6x6 images of 5 classes, z_dim 4), called the
    way ``train.fit`` calls it with a loader of (images, labels). At each optimizer step it checks
    what D scored with which labels and the gradients, against the losses of ``ganlib.losses``:
    D learns on the real batch with its labels and on detached fakes with the labels they were
    drawn for, then G learns (non-saturating) from the updated D's verdict on its fakes with
    their labels. Then once more with the toy on a second device, for tensors made on the CPU.
    """
    expect_step_signature(step, ["real_images", "labels"], _PARAMS, what=_STEP)
    with seeded(0):
        gan = _ToyGAN()
        for _ in range(2):
            expect_trainable(gan.D, "D", _STEP)
            gan.log.phase, gan.log.d_calls, gan.log.g_calls = 0, [], []
            gan.watch.reset()
            gan.errors, gan.expected = [], {}
            gan.left = {"d": grads(gan.D.parameters()), "g": grads(gan.G.parameters())}
            before_d, before_g = weights(gan.D), weights(gan.G)
            try:
                result = _call_step(gan.watch, step, gan)
            except CheckFailed as failure:
                raise gan.errors[0] if gan.errors else _step_error(failure, gan) from None
            if gan.errors:
                raise gan.errors[0]
            if gan.watch.order != ["d", "g"]:
                raise CheckFailed(
                    _STEP,
                    expected="d_optimizer.step() once, then g_optimizer.step() once",
                    found="optimizer steps: " + (" -> ".join(gan.watch.order) or "none"),
                    hint="one step: D learns first (one update), then G learns once against it",
                )
            expect_updated(_STEP, {"D": (gan.D, before_d), "G": (gan.G, before_g)})
            expect_step_values(
                result,
                gan.expected,
                _STEP,
                hint=_value_hint,
                mistakes=verdict_mistakes(gan.expected),
            )
        _expect_step_on_device(step)
    passed(
        _STEP,
        "D learns on real images with their labels and detached fakes with theirs, then G "
        "learns from D's verdict on its fakes and their labels; values returned",
    )


def _expect_step_on_device(step: Callable[..., Any]) -> None:
    """The step on a second device (meta: shapes, no numbers) must make its latents and labels
    there: a CPU tensor would stop training on a GPU."""
    gan = _ToyGAN("meta")
    try:
        _call_step(gan.watch, step, gan)
    except CheckFailed as failure:
        if not _device_problem(failure.found):
            if not gan.log.devices:
                return  # an operation the meta device lacks: nothing to say about devices
    else:
        if not gan.log.devices:
            return
    made = gan.log.devices[0] if gan.log.devices else "a tensor"
    raise CheckFailed(
        f"{_STEP} on a GPU",
        expected="latents and labels made on the device of the real batch",
        found=f"the fakes' {made} made on the CPU while the real batch is on another device "
        "(the check ran the step with the toy on a second device; on a GPU this fails)",
        hint=_ON_THE_DEVICE,
    )


# --------------------------------------------------------------------------- does the label control the class?
#: The toy of :func:`label_control`: one real digit of each class at 16x16, small networks.
_CONTROL_SIZE = 16
_CONTROL_Z = 16
_CONTROL_WIDTH = 8
_CONTROL_BATCH = 20
_CONTROL_LR = 5e-3
_CONTROL_EVERY = 50  # steps between two looks at the samples
_CONTROL_STEPS = 400  # at most
_CONTROL_SAMPLES = 100
#: The share of samples the classifier must read as their requested class (chance: 0.1).
CONTROL_THRESHOLD = 0.5


def _prototypes() -> tuple[Tensor, Tensor]:
    """One real digit of each class, 16x16 in [-1, 1], that the classifier reads correctly."""
    from ganlib import data
    from ganlib.features import classify

    digits = data.load("mnist", split="train", source="offline")
    images, labels = [], []
    for y in range(10):
        candidates = digits.images[digits.labels == y][:20].float() / 127.5 - 1
        small = F.interpolate(
            candidates, size=(_CONTROL_SIZE,) * 2, mode="bilinear", antialias=True
        ).clamp(-1, 1)
        read = classify(small, "mnist").argmax(dim=1)
        images.append(small[int(torch.nonzero(read == y)[0, 0])])
        labels.append(y)
    return torch.stack(images), torch.tensor(labels)


class _ControlGAN:
    """The learner's networks at toy size, Adam optimizers and the prototypes to learn."""

    z_dim, num_classes = _CONTROL_Z, 10

    def __init__(self, G: nn.Module, D: nn.Module, prototypes: Tensor, classes: Tensor) -> None:
        self.G, self.D = G, D
        self.prototypes, self.classes = prototypes, classes
        adam = {"lr": _CONTROL_LR, "betas": (0.5, 0.999)}
        self.d_optimizer = torch.optim.Adam(D.parameters(), **adam)
        self.g_optimizer = torch.optim.Adam(G.parameters(), **adam)
        self.watch = StepWatch({"d": self.d_optimizer, "g": self.g_optimizer})
        self.real = self.labels = None

    def draw(self) -> None:
        """A batch of the prototypes (with repeats) and their labels."""
        i = torch.randint(len(self.prototypes), (_CONTROL_BATCH,))
        self.real, self.labels = self.prototypes[i], self.classes[i]

    def accuracy(self) -> tuple[float, list[int]]:
        """The share of samples read as their requested class, and what each class drew."""
        from ganlib.features import classify

        labels = torch.arange(_CONTROL_SAMPLES) % 10
        with torch.no_grad():
            was = self.G.training
            self.G.eval()
            try:
                images = self.G(torch.randn(_CONTROL_SAMPLES, _CONTROL_Z), labels)
            finally:
                self.G.train(was)
            read = classify(images, "mnist").argmax(dim=1)
        return float((read == labels).float().mean()), read[:10].tolist()


def label_control(
    generator_cls: Any, discriminator_cls: Any, step: Callable[..., Any], **kwargs: Any
) -> None:
    """Trains the learner's G and D (at toy size) with the learner's step on one real digit of
    each class (16x16) and asks the course's digit classifier whether the samples show the class
    they were asked for. Passes as soon as at least half of them do (chance: 1 in 10); fails
    after 400 steps otherwise.

    The networks are built with ``z_dim=16, num_classes=10, width=8, channels=1,
    image_size=16`` (and ``kwargs``); the step is called as ``train.fit`` calls it.
    """
    what = "label control"
    with seeded(0):
        prototypes, classes = _prototypes()
        sizes = {"num_classes": 10, "width": _CONTROL_WIDTH, "channels": 1}
        sizes["image_size"] = _CONTROL_SIZE
        G = build(generator_cls, what=what, z_dim=_CONTROL_Z, **sizes, **kwargs)
        D = build(discriminator_cls, what=what, **sizes, **kwargs)
        gan = _ControlGAN(G, D, prototypes, classes)
        G.train(), D.train()
        start, _ = gan.accuracy()
        best, steps, drawn = 0.0, 0, []
        while steps < _CONTROL_STEPS and best < CONTROL_THRESHOLD:
            for _ in range(_CONTROL_EVERY):
                gan.draw()
                values = _call_step(gan.watch, step, gan)
                loss = as_number(values.get("g_loss")) if isinstance(values, dict) else None
                if loss is not None and not torch.isfinite(torch.tensor(loss)):
                    raise CheckFailed(
                        what,
                        expected="finite losses while training the toy",
                        found=f"g_loss {loss} after {steps} steps",
                        hint="run check.train_step(train_step) first: it names the usual mistakes",
                    )
                steps += 1
            accuracy, drawn = gan.accuracy()
            best = max(best, accuracy)
    if best < CONTROL_THRESHOLD:
        raise CheckFailed(
            what,
            expected=f"at least {CONTROL_THRESHOLD:.0%} of the samples read as the class they "
            f"were asked for, after at most {_CONTROL_STEPS} steps on one digit of each class",
            found=f"{best:.0%} (chance: 10%); asked for 0, 1, ..., 9, G drew digits the "
            f"classifier reads as {drawn}",
            hint="the label must control the class: G turns (z, label) into an image of that "
            "class only if D judges every image, real or fake, together with its label. Run the "
            "checks of G, D and train_step: each names its mistakes",
        )
    passed(
        what,
        f"your step trained your G and D on one digit of each class: after {steps} steps "
        f"{best:.0%} of the samples show the class they were asked for (untrained: {start:.0%}, "
        "chance 10%)",
    )


def _value_hint(key: str) -> str:
    if key.endswith("loss"):
        return "return the value of the loss you stepped with"
    return "return D's mean verdict from D's update"
