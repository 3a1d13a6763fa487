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


class BNNoNormalisation(BatchNorm):
    def forward(self, x):
        return x * self.weight + self.bias


class BNReturnsNone(BatchNorm):
    def forward(self, x):
        super().forward(x)


# --------------------------------------------------------------------------- classifier
class Classifier(nn.Module):
    def __init__(self, batch_norm=True, hidden=(64, 32), order="bn-act", bias=None, final_bn=False):
        super().__init__()
        layers, width = [nn.Flatten()], 784
        for size in hidden:
            use_bias = (not batch_norm) if bias is None else bias
            layers.append(nn.Linear(width, size, bias=use_bias))
            if batch_norm and order == "bn-act":
                layers += [nn.BatchNorm1d(size), nn.ReLU()]
            elif batch_norm:
                layers += [nn.ReLU(), nn.BatchNorm1d(size)]
            else:
                layers.append(nn.ReLU())
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
