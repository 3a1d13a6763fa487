"""Lesson 02 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch
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
        (bank.BNBiasedRunningVar, "running_var is updated with the biased variance"),
        (bank.BNUnbiasedNormalisation, "normalise with the biased variance"),
        (bank.BNMomentumFlipped, "momentum weighs the NEW statistic"),
        (bank.BNNoRunningUpdate, "update them in every train-mode call"),
        (bank.BNAlwaysBatchStats, "eval mode must not use the batch's statistics"),
        (bank.BNTrainMethodAsFlag, "eval mode must not use the batch's statistics"),
        (bank.BNUpdatesInEval, "eval mode must leave the running statistics alone"),
        (bank.BNDetachedStats, "gradient to the input"),
        (bank.BNNoScaleShift, "make them nn.Parameters"),
        (bank.BNScaleStartsAtZero, "the scale starts at 1"),
        (bank.BNParametersRowShaped, "one scale and one shift per feature"),
        (bank.BNPlainAttributes, "plain tensor attribute"),
        (bank.BNRunningAsParameters, "is a learnable nn.Parameter"),
        (bank.BNRunningWithHistory, "running averages with no autograd history"),
        (bank.BNRunningWithHistoryInPlace, "running averages with no autograd history"),
        (bank.BNRunningVarStartsAtZero, "running_var starts at 1"),
        (bank.BNNoEps, "NaN or Inf values: a division by zero"),
        (bank.BNEpsOutsideSqrt, "eps goes under the square root"),
        (bank.BNEpsOnlyInTrainMode, "eps belongs in eval mode too"),
        (bank.BNNoAffine, "scale by the learnable scale and add the learnable shift"),
        (bank.BNShiftBeforeScale, "scale first, then shift"),
        (bank.BNPerExample, "one value per feature"),
        (bank.BNInPlaceOnInput, "the input was changed in place"),
        (bank.BNNoNormalisation, "statistics of this batch"),
        (bank.BNReturnsNone, "found:    None"),
        (nn.Linear, "TypeError"),
        (nn.BatchNorm2d, "the batch norm for images given vectors"),
    ],
)
def test_batch_norm_catches_mistakes(broken, fragment):
    fails(check.batch_norm, broken, fragment)


def test_batch_norm_2d_passes_on_reference(capsys):
    check.batch_norm_2d(bank.BatchNorm2d)
    check.batch_norm_2d(bank.BatchNorm2dDirect)
    check.batch_norm_2d(nn.BatchNorm2d)
    out = capsys.readouterr().out
    assert out.count("\u2714") == 3 and "nn.BatchNorm2d" in out


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.BN2dReshapeOnly, "mixes the channels"),
        (bank.BN2dNoInversePermute, "undo the moves in reverse order"),
        (bank.BN2dNoReshape, "line up with the feature dimension"),
        (bank.BN2dParametersNotLinedUp, "line up with the feature dimension"),
        (bank.BN2dViewAfterPermute, "a view cannot regroup it"),
        (bank.BatchNorm, "line up with the feature dimension"),
        (nn.BatchNorm1d, "the batch norm for vectors given images"),
    ],
)
def test_batch_norm_2d_catches_mistakes(broken, fragment):
    fails(check.batch_norm_2d, broken, fragment)


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
        (bank.ClassifierSoftmax, "applies the softmax itself"),
        (bank.ClassifierNoFlag, "TypeError"),
        (bank.ClassifierNoFlatten, "flatten each image"),
        (bank.ClassifierBNSizedForInput, "a BN layer sized for a different number"),
        (bank.ClassifierBatchNorm2d, "the batch norm for vectors"),
        (bank.ClassifierNoActivation, "an activation between the linear layers"),
        (bank.ClassifierBNOnInput, "the flattened images as they are"),
    ],
)
def test_classifier_catches_mistakes(broken, fragment):
    fails(check.classifier, broken, fragment)


@pytest.mark.parametrize(
    ("checker", "solution"),
    [(check.batch_norm, bank.BatchNorm), (check.batch_norm_2d, bank.BatchNorm2d)],
)
def test_batch_norm_checks_leave_the_learners_random_state_alone(checker, solution):
    torch.manual_seed(1)
    untouched = torch.rand(3)
    torch.manual_seed(1)
    checker(solution)
    assert torch.equal(torch.rand(3), untouched)
