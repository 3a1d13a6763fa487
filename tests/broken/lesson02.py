"""Lesson 02 (batch normalization): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import torch
from torch import nn


# --------------------------------------------------------------------------- batch norm by hand
class BatchNorm(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def statistics(self, x):
        """Batch statistics for normalising, and the ones to fold into the running averages."""
        return x.mean(0), x.var(0, unbiased=False), x.var(0, unbiased=True)

    def update(self, mean, var_unbiased):
        m = self.momentum
        self.running_mean.mul_(1 - m).add_(m * mean.detach())
        self.running_var.mul_(1 - m).add_(m * var_unbiased.detach())

    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNBiasedRunningVar(BatchNorm):
    def statistics(self, x):
        return x.mean(0), x.var(0, unbiased=False), x.var(0, unbiased=False)


class BNUnbiasedNormalisation(BatchNorm):
    def statistics(self, x):
        return x.mean(0), x.var(0, unbiased=True), x.var(0, unbiased=True)


class BNMomentumFlipped(BatchNorm):
    def update(self, mean, var_unbiased):
        m = self.momentum
        self.running_mean.mul_(m).add_((1 - m) * mean.detach())
        self.running_var.mul_(m).add_((1 - m) * var_unbiased.detach())


class BNNoRunningUpdate(BatchNorm):
    def update(self, mean, var_unbiased):
        pass


class BNAlwaysBatchStats(BatchNorm):
    """Ignores eval mode."""

    def forward(self, x):
        mean, var, var_unbiased = self.statistics(x)
        with torch.no_grad():
            self.update(mean, var_unbiased)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNDetachedStats(BatchNorm):
    def statistics(self, x):
        return x.mean(0).detach(), x.var(0, unbiased=False).detach(), x.var(0, unbiased=True)


class BNNoScaleShift(BatchNorm):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        del self.weight, self.bias
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))


class BNPlainAttributes(BatchNorm):
    """Running statistics as plain tensors: not moved by .to(), not saved."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        nn.Module.__init__(self)
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.running_mean = torch.zeros(num_features)
        self.running_var = torch.ones(num_features)

    def update(self, mean, var_unbiased):
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean.detach()
        self.running_var = (1 - m) * self.running_var + m * var_unbiased.detach()


class BNRunningAsParameters(BatchNorm):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        nn.Module.__init__(self)
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.running_mean = nn.Parameter(torch.zeros(num_features), requires_grad=False)
        self.running_var = nn.Parameter(torch.ones(num_features), requires_grad=False)


class BNRunningWithHistory(BatchNorm):
    """The running averages computed from the batch statistics, in the graph."""

    def forward(self, x):
        if self.training:
            mean, var = x.mean(0), x.var(0, unbiased=False)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * x.var(0, unbiased=True)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNRunningWithHistoryInPlace(BatchNorm):
    """In-place updates, but without torch.no_grad() and without detaching."""

    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean)
            self.running_var.mul_(1 - m).add_(m * var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNNoEps(BatchNorm):
    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var) * self.weight + self.bias


class BNEpsOutsideSqrt(BatchNorm):
    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / (torch.sqrt(var) + self.eps) * self.weight + self.bias


class BNEpsOnlyInTrainMode(BatchNorm):
    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
            return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return (x - self.running_mean) / torch.sqrt(self.running_var) * self.weight + self.bias


class BNNoAffine(BatchNorm):
    """The scale and shift are created but never used."""

    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps)


class BNShiftBeforeScale(BatchNorm):
    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return ((x - mean) / torch.sqrt(var + self.eps) + self.bias) * self.weight


class BNPerExample(BatchNorm):
    """Statistics over each example's features (dim 1), as in layer norm."""

    def statistics(self, x):
        return (
            x.mean(1, keepdim=True),
            x.var(1, keepdim=True, unbiased=False),
            x.var(1, keepdim=True, unbiased=True),
        )


class BNUpdatesInEval(BatchNorm):
    """The running statistics updated on every call, eval mode included."""

    def forward(self, x):
        mean, var, var_unbiased = self.statistics(x)
        with torch.no_grad():
            self.update(mean, var_unbiased)
        if not self.training:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNTrainMethodAsFlag(BatchNorm):
    """`if self.train:` (a method, always true) instead of `if self.training:`."""

    def forward(self, x):
        if self.train:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNRunningVarStartsAtZero(BatchNorm):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.running_var.zero_()


class BNScaleStartsAtZero(BatchNorm):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.weight = nn.Parameter(torch.zeros(num_features))


class BNParametersRowShaped(BatchNorm):
    """Scale and shift of shape (1, C): they broadcast, but are not nn.BatchNorm1d's (C,)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.weight = nn.Parameter(torch.ones(1, num_features))
        self.bias = nn.Parameter(torch.zeros(1, num_features))


class BNInPlaceOnInput(BatchNorm):
    def forward(self, x):
        if self.training:
            mean, var, var_unbiased = self.statistics(x)
            with torch.no_grad():
                self.update(mean, var_unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        x -= mean
        return x / torch.sqrt(var + self.eps) * self.weight + self.bias


class BNNoNormalisation(BatchNorm):
    def forward(self, x):
        return x * self.weight + self.bias


class BNReturnsNone(BatchNorm):
    def forward(self, x):
        super().forward(x)


# --------------------------------------------------------------------------- batch norm for images
class BatchNorm2d(BatchNorm):
    """The reference: every pixel of every image is one example of its channel."""

    def forward(self, x):
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(-1, c)
        return super().forward(rows).reshape(n, h, w, c).permute(0, 3, 1, 2)


class BatchNorm2dDirect(BatchNorm):
    """Also right: statistics over (0, 2, 3), per-channel values shaped (1, C, 1, 1)."""

    def forward(self, x):
        if self.training:
            mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
            with torch.no_grad():
                self.update(mean, x.var((0, 2, 3), unbiased=True))
        else:
            mean, var = self.running_mean, self.running_var

        def channel(t):
            return t.reshape(1, -1, 1, 1)

        x_hat = (x - channel(mean)) / torch.sqrt(channel(var) + self.eps)
        return x_hat * channel(self.weight) + channel(self.bias)


class BN2dReshapeOnly(BatchNorm):
    def forward(self, x):
        return super().forward(x.reshape(-1, x.shape[1])).reshape(x.shape)


class BN2dNoInversePermute(BatchNorm):
    def forward(self, x):
        rows = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
        return super().forward(rows).reshape(x.shape)


class BN2dNoReshape(BatchNorm):
    """The vector version applied to images as they are."""


class BN2dViewAfterPermute(BatchNorm):
    def forward(self, x):
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).view(-1, c)
        return super().forward(rows).view(n, h, w, c).permute(0, 3, 1, 2)


class BN2dParametersNotLinedUp(BatchNorm):
    """Statistics over (0, 2, 3) with keepdim, but the (C,) scale meets the last dimension."""

    def forward(self, x):
        mean = x.mean((0, 2, 3), keepdim=True)
        var = x.var((0, 2, 3), keepdim=True, unbiased=False)
        with torch.no_grad():
            self.update(mean.flatten(), x.var((0, 2, 3), unbiased=True))
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


# --------------------------------------------------------------------------- classifier
class Classifier(nn.Module):
    def __init__(
        self,
        batch_norm=True,
        hidden=(64, 32),
        order="bn-act",
        bias=None,
        final_bn=False,
        flatten=True,
        norm=nn.BatchNorm1d,
        activation=nn.ReLU,
    ):
        super().__init__()
        layers, width = [nn.Flatten()] if flatten else [], 784
        for size in hidden:
            use_bias = (not batch_norm) if bias is None else bias
            layers.append(nn.Linear(width, size, bias=use_bias))
            if batch_norm and order == "bn-act":
                layers += [norm(size), activation()]
            elif batch_norm and order == "bn-wrong-size":
                layers += [norm(width), activation()]
            elif batch_norm:
                layers += [activation(), norm(size)]
            else:
                layers.append(activation())
            width = size
        layers.append(nn.Linear(width, 10))
        if final_bn:
            layers.append(nn.BatchNorm1d(10))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ClassifierHandBN(Classifier):
    """The reference, with the hand-written BatchNorm."""

    def __init__(self, batch_norm=True):
        super().__init__(batch_norm)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.BatchNorm1d):
                self.net[i] = BatchNorm(m.num_features)


class ClassifierBNAfterActivation(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, order="act-bn")


class ClassifierBiasBeforeBN(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, bias=True)


class ClassifierIgnoresFlag(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(False)


class ClassifierBNOnOutput(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, final_bn=batch_norm)


class ClassifierSoftmax(Classifier):
    def forward(self, x):
        return self.net(x).softmax(dim=1)


class ClassifierNoFlag(Classifier):
    def __init__(self):
        super().__init__(True)


class ClassifierNoFlatten(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, flatten=False)


class ClassifierBNSizedForInput(Classifier):
    """BatchNorm1d(width) with the layer's input width, not its output size."""

    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, order="bn-wrong-size")


class ClassifierBatchNorm2d(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, norm=nn.BatchNorm2d)


class ClassifierNoActivation(Classifier):
    def __init__(self, batch_norm=True):
        super().__init__(batch_norm, activation=nn.Identity)


class ClassifierBNOnInput(Classifier):
    """A BN on the flattened images before the first linear layer."""

    def __init__(self, batch_norm=True):
        super().__init__(batch_norm)
        if batch_norm:
            self.net.insert(1, nn.BatchNorm1d(784))
