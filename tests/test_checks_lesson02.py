"""Lesson 02 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
from torch import nn

from ganlib.checks import lesson02 as check

try:
    from tests.broken import fails
    from tests.broken import lesson02 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails
    from broken import lesson02 as bank


def test_batch_norm_passes_on_reference(capsys):
    check.batch_norm(bank.BatchNorm)
    check.batch_norm(bank.BatchNorm(6))
    out = capsys.readouterr().out
    assert out.count("\u2714") == 2 and "nn.BatchNorm1d" in out


def test_batch_norm_check_uses_a_fresh_reference_each_time(capsys):
    # nn.BatchNorm1d itself is the behaviour to match: it must pass too.
    check.batch_norm(nn.BatchNorm1d)
    assert "\u2714" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.BNBiasedRunningVar, "running_var with the unbiased variance"),
        (bank.BNUnbiasedNormalisation, "use the biased variance (unbiased=False)"),
        (bank.BNMomentumFlipped, "momentum weighs the NEW statistic"),
        (bank.BNNoRunningUpdate, "updated in every train-mode call"),
        (bank.BNAlwaysBatchStats, "eval mode must not use the batch's statistics"),
        (bank.BNDetachedStats, "gradient to the input"),
        (bank.BNNoScaleShift, "no parameters at all"),
        (bank.BNPlainAttributes, "register_buffer"),
        (bank.BNNoNormalisation, "statistics of this batch"),
        (bank.BNReturnsNone, "found:    None"),
        (nn.Linear, "TypeError"),
    ],
)
def test_batch_norm_catches_mistakes(broken, fragment):
    fails(check.batch_norm, broken, fragment)


def test_classifier_passes_on_reference(capsys):
    check.classifier(bank.Classifier)
    check.classifier(bank.ClassifierHandBN)
    assert capsys.readouterr().out.count("\u2714") == 2


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.ClassifierBNAfterActivation, "Linear -> ReLU -> BN"),
        (bank.ClassifierBiasBeforeBN, "no bias in a linear layer followed by BN"),
        (bank.ClassifierIgnoresFlag, "no batch norm"),
        (bank.ClassifierBNOnOutput, "after the last nn.Linear"),
        (bank.ClassifierSoftmax, "CrossEntropyLoss takes logits"),
        (bank.ClassifierNoFlag, "TypeError"),
    ],
)
def test_classifier_catches_mistakes(broken, fragment):
    fails(check.classifier, broken, fragment)
