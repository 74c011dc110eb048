"""The evidence dict's account of temperature scaling: what the fit did on validation, and what the
validation-fitted T does to each set it is later applied to (worked out by hand)."""

from __future__ import annotations

import math

import pytest
import torch

from workers.ml.calibration import MAX_TEMPERATURE, MIN_TEMPERATURE
from workers.ml.evidence import NOT_FITTED_NOTE, Calibration, dataset_evidence, fit_calibration

LABELS = ["a", "b"]
# Four rows with logits (ln 3, 0): confidence 0.75 in class 0, and 3 of 4 rows are class 0, so at T = 1
# confidence equals accuracy: ECE 0, NLL -(0.75 ln 0.75 + 0.25 ln 0.25) = 0.5623.
# At T = 0.5 the logits double: softmax(2 ln 3, 0) = (0.9, 0.1), so ECE |0.75 - 0.9| = 0.15 and
# NLL -(0.75 ln 0.9 + 0.25 ln 0.1) = 0.6547: sharpening a calibrated model makes both worse.
CALIBRATED = torch.tensor([[math.log(3.0), 0.0]] * 4)
CALIBRATED_TARGETS = torch.tensor([0, 0, 0, 1])
NLL_AT_1 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
NLL_AT_HALF = -(0.75 * math.log(0.9) + 0.25 * math.log(0.1))


def fitted(temperature: float) -> Calibration:
    return Calibration(
        temperature=temperature,
        threshold=0.5,
        coverage=0.95,
        fitted_on=100,
        temperature_status="ok",
        temperature_note=f"T = {temperature:g} lowers the validation NLL from 1.0000 to 0.9000.",
        validation_nll_before=1.0,
        validation_nll_after=0.9,
    )


def test_a_validation_fitted_t_that_makes_the_scored_set_worse_says_so() -> None:
    evidence = dataset_evidence(CALIBRATED, CALIBRATED_TARGETS, LABELS, fitted(0.5))
    assert evidence["before_scaling"]["nll"] == pytest.approx(NLL_AT_1)
    assert evidence["after_scaling"]["nll"] == pytest.approx(NLL_AT_HALF)
    assert evidence["after_scaling"]["ece"] == pytest.approx(0.15)
    effect = evidence["temperature_effect"]
    assert effect["nll_worse"] and effect["ece_worse"]
    assert effect["note"] == "T = 0.5 makes this set worse: NLL 0.562 → 0.655, ECE 0.000 → 0.150."
    # The fit itself was fine, so the warning is only about this set.
    assert evidence["temperature_warning"] == effect["note"]


def test_a_t_that_helps_the_scored_set_leaves_no_warning() -> None:
    # Logits (2 ln 3, 0) on the same targets are overconfident (0.9 vs 0.75 right); T = 2 undoes that.
    evidence = dataset_evidence(2 * CALIBRATED, CALIBRATED_TARGETS, LABELS, fitted(2.0))
    assert evidence["temperature_effect"] == {"nll_worse": False, "ece_worse": False, "note": None}
    assert evidence["temperature_warning"] is None


def test_fit_calibration_records_the_fit_and_its_validation_nll() -> None:
    generator = torch.Generator().manual_seed(3)
    logits = 1.5 * torch.randn(1000, 5, generator=generator)
    targets = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=generator).squeeze(1)
    calibration = fit_calibration(logits / 5, targets)  # underconfident: the best T is ~0.2
    record = calibration.as_dict()
    assert record["temperature_status"] == "ok" and 0.15 < record["temperature"] < 0.25
    assert record["validation_nll_after"] < record["validation_nll_before"]
    assert record["temperature_range"] == [MIN_TEMPERATURE, MAX_TEMPERATURE]
    assert record["temperature_note"].startswith(f"T = {calibration.temperature:.3g} lowers the validation NLL")
    # Scored on the set it was fitted on, T can only help: no warning.
    assert dataset_evidence(logits / 5, targets, list("abcde"), calibration)["temperature_warning"] is None


def test_a_fit_on_a_bound_is_flagged_in_the_evidence_of_every_set() -> None:
    logits, targets = torch.tensor([[5.0, 0.0], [0.0, 5.0], [3.0, 1.0]]), torch.tensor([0, 1, 0])  # all right
    calibration = fit_calibration(logits, targets)
    assert calibration.temperature_status == "at_bound" and calibration.temperature == MIN_TEMPERATURE
    evidence = dataset_evidence(CALIBRATED, CALIBRATED_TARGETS, LABELS, calibration)
    assert evidence["calibration"]["temperature_status"] == "at_bound"
    assert evidence["temperature_warning"].startswith(calibration.temperature_note)
    assert "makes this set worse" in evidence["temperature_warning"]  # T = 0.01 on a calibrated set


def test_a_calibrated_validation_set_keeps_t_1_and_the_pages_say_why() -> None:
    calibration = fit_calibration(CALIBRATED, CALIBRATED_TARGETS)
    assert (calibration.temperature, calibration.temperature_status) == (1.0, "no_improvement")
    evidence = dataset_evidence(CALIBRATED, CALIBRATED_TARGETS, LABELS, calibration)
    assert evidence["before_scaling"]["nll"] == evidence["after_scaling"]["nll"]
    assert not evidence["temperature_effect"]["nll_worse"]
    assert evidence["temperature_warning"] == calibration.temperature_note


def test_without_validation_rows_t_is_1_and_marked_not_fitted() -> None:
    calibration = fit_calibration(torch.zeros(2, 2), torch.tensor([-1, -1]))
    record = calibration.as_dict()
    assert record["temperature"] == 1.0 and record["fitted_on"] == 0
    assert record["temperature_status"] == "not_fitted" and record["temperature_note"] == NOT_FITTED_NOTE
    assert record["validation_nll_before"] is None and record["validation_nll_after"] is None
    evidence = dataset_evidence(CALIBRATED, CALIBRATED_TARGETS, LABELS, calibration)
    assert evidence["temperature_warning"] == NOT_FITTED_NOTE
