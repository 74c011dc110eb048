"""kd_loss against numbers worked out with plain Python (no torch), and its edge cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from workers.ml.kd import kd_loss, masked_cross_entropy

STUDENT = [[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]]
TEACHER = [[2.0, 1.0, 0.0], [0.5, 0.5, -0.5]]


def softmax(xs: list[float]) -> list[float]:
    top = max(xs)
    exps = [math.exp(x - top) for x in xs]
    return [e / sum(exps) for e in exps]


def by_hand(labels: list[int], *, temperature: float, alpha: float) -> tuple[float, float, float]:
    """(loss, KL, CE): KL(p_teacher || p_student) at temperature T averaged over rows; CE over labeled rows."""
    kl = 0.0
    for s, t in zip(STUDENT, TEACHER, strict=True):
        p = softmax([x / temperature for x in t])
        q = softmax([x / temperature for x in s])
        kl += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    kl /= len(STUDENT)
    nll = [-math.log(softmax(s)[y]) for s, y in zip(STUDENT, labels, strict=True) if y != -1]
    ce = sum(nll) / len(nll) if nll else 0.0
    return alpha * temperature**2 * kl + (1 - alpha) * ce, kl, ce


def run(labels: list[int], *, temperature: float = 2.0, alpha: float = 0.3) -> tuple[float, dict[str, float]]:
    loss, parts = kd_loss(
        torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(labels), temperature=temperature, alpha=alpha
    )
    return loss.item(), parts


def test_it_matches_a_hand_computed_value_for_two_examples_and_three_classes() -> None:
    loss, parts = run([0, 2])
    expected, kl, ce = by_hand([0, 2], temperature=2.0, alpha=0.3)
    # The worked numbers, so that a mistake shared by the code and by_hand() would still show.
    assert (kl, ce, expected) == pytest.approx((0.143004064, 0.935987374, 0.826796039), abs=1e-8)
    assert loss == pytest.approx(expected, abs=1e-6)
    assert parts == pytest.approx({"kd": kl, "ce": ce}, abs=1e-6)


def test_alpha_zero_is_plain_cross_entropy() -> None:
    loss, _ = run([0, 2], alpha=0.0)
    assert loss == pytest.approx(F.cross_entropy(torch.tensor(STUDENT), torch.tensor([0, 2])).item(), abs=1e-6)


def test_unlabeled_rows_only_contribute_the_distillation_term() -> None:
    loss, parts = run([0, -1])
    expected, _, ce = by_hand([0, -1], temperature=2.0, alpha=0.3)
    assert ce == pytest.approx(1.464368784, abs=1e-8)  # row 0 alone
    assert loss == pytest.approx(expected, abs=1e-6)
    assert parts["ce"] == pytest.approx(ce, abs=1e-6)


def test_a_batch_without_labels_is_pure_distillation_and_still_backpropagates() -> None:
    student = torch.tensor(STUDENT, requires_grad=True)
    loss, parts = kd_loss(student, torch.tensor(TEACHER), torch.tensor([-1, -1]), temperature=2.0, alpha=0.3)
    _, kl, _ = by_hand([-1, -1], temperature=2.0, alpha=0.3)
    assert parts["ce"] == 0.0
    assert loss.item() == pytest.approx(0.3 * 4 * kl, abs=1e-6)
    loss.backward()
    assert student.grad is not None and bool(torch.isfinite(student.grad).all())


def test_masked_cross_entropy_of_an_unlabeled_batch_is_zero_not_nan() -> None:
    logits = torch.tensor(STUDENT, requires_grad=True)
    loss = masked_cross_entropy(logits, torch.tensor([-1, -1]))
    loss.backward()
    assert loss.item() == 0.0


def test_the_student_gradient_points_towards_the_teacher() -> None:
    student = torch.tensor(STUDENT, requires_grad=True)
    for _ in range(200):
        loss, _ = kd_loss(student, torch.tensor(TEACHER), torch.tensor([-1, -1]), temperature=2.0, alpha=1.0)
        loss.backward()
        with torch.no_grad():
            student -= 0.5 * student.grad  # type: ignore[operator]
            student.grad = None
    assert torch.softmax(student, -1).detach() == pytest.approx(torch.softmax(torch.tensor(TEACHER), -1), abs=1e-3)


@pytest.mark.parametrize(("temperature", "alpha"), [(2.0, -0.1), (2.0, 1.5), (0.0, 0.5), (-1.0, 0.5)])
def test_it_rejects_alpha_outside_zero_one_and_a_non_positive_temperature(temperature: float, alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha|temperature"):
        run([0, 2], temperature=temperature, alpha=alpha)


def test_it_rejects_teacher_logits_of_another_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        kd_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.tensor([0, 1]), temperature=1.0, alpha=0.5)
