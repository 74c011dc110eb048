"""The knowledge-distillation loss (Hinton et al., 2015) and the masked cross-entropy it mixes in."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workers.ml.data import UNLABELED


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the labeled rows; 0 (still attached to the graph) when no row is labeled."""
    labeled = labels != UNLABELED
    if not bool(labeled.any()):
        # F.cross_entropy would return NaN for an all-ignored batch; a zero keeps backward() well defined.
        return logits.sum() * 0.0
    return F.cross_entropy(logits[labeled], labels[labeled])


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float,
    alpha: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, labels).

    The KL term is averaged over all rows ("batchmean"); CE only over labeled rows, so unlabeled rows
    (label -1) teach through the teacher alone. T^2 keeps the soft-target gradients on the same scale as the
    hard-target ones when T changes. Returns the loss and its unscaled parts {"kd": KL, "ce": CE}.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    if temperature <= 0.0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"Student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} "
            "differ in shape; the teacher and student must share the label set."
        )
    kd = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=-1),
        F.log_softmax(teacher_logits.detach() / temperature, dim=-1),
        log_target=True,
        reduction="batchmean",
    )
    ce = masked_cross_entropy(student_logits, labels)
    loss = alpha * temperature**2 * kd + (1.0 - alpha) * ce
    return loss, {"kd": kd.item(), "ce": ce.item()}
