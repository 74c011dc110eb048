"""Two runs side by side: which hyper-parameters differ, and what each ended with. Pure functions over the
jobs' stored params and results."""

from typing import Any

MISSING = "—"


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"training": {"epochs": 10}} -> {"training.epochs": 10}; lists and scalars stay as they are."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def side_by_side(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per key of either (nested keys dotted), in the order they first appear, differences marked."""
    flat_a, flat_b = flatten(a), flatten(b)
    keys = list(dict.fromkeys([*flat_a, *flat_b]))
    return [
        {
            "key": key,
            "a": flat_a.get(key, MISSING),
            "b": flat_b.get(key, MISSING),
            "differs": flat_a.get(key, MISSING) != flat_b.get(key, MISSING),
        }
        for key in keys
    ]


def final_figures(series: dict[str, dict[str, list[float]]]) -> dict[str, float | None]:
    """What a run ended with: the last training loss, the best validation accuracy, the last validation loss."""

    def last(name: str) -> float | None:
        values = series.get(name, {}).get("y", [])
        return values[-1] if values else None

    accuracy = series.get("val_accuracy", {}).get("y", [])
    return {
        "final train_loss": last("train_loss"),
        "final val_loss": last("val_loss"),
        "best val_accuracy": max(accuracy) if accuracy else None,
    }
