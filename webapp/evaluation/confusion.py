"""The confusion matrix of an evaluation, from its per-example predictions, arranged to be read with many
classes: the worst classes first (lowest F1, as in the "worst classes" table), and by default only the worst
few, every prediction outside them summed in one "other classes" column so each row still adds up to its
class's support. Pure: the page and the tests hand it (label, prediction) pairs."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

OTHER = "other classes"
DEFAULT_SHOWN = 15


@dataclass(frozen=True)
class ConfusionView:
    rows: list[str]  # true classes shown, worst first
    columns: list[str]  # predicted classes: the same, plus OTHER when classes are hidden
    counts: list[list[int]]  # counts[i][j]: rows of true rows[i] predicted columns[j]
    classes: int  # classes with at least one row
    out_of_scope: int  # rows whose label the model does not predict (e.g. `oos`), left out

    @property
    def hidden(self) -> int:
        return self.classes - len(self.rows)

    def shares(self) -> list[list[float]]:
        """Each count as a share of its row (its class's recall on the diagonal): a big class does not
        drown the small ones in colour."""
        return [[count / (sum(row) or 1) for count in row] for row in self.counts]


def worst_first(per_class: list[dict[str, Any]]) -> list[str]:
    """Labels with support, lowest F1 first (ties by name): the order of the evaluation's worst-classes table."""
    return [row["label"] for row in sorted((r for r in per_class if r["support"]), key=lambda r: (r["f1"], r["label"]))]


def confusion_view(
    pairs: Iterable[tuple[str | None, str]], *, labels: list[str], order: list[str], show: int | None = DEFAULT_SHOWN
) -> ConfusionView:
    """`pairs` are (true label, predicted label); `labels` what the model predicts; `order` the classes worst
    first (others follow by name); `show` how many true classes to show (None: all)."""
    known = set(labels)
    counts: Counter[tuple[str, str]] = Counter()
    out_of_scope = 0
    for label, predicted in pairs:
        if label in known:
            counts[(label, predicted)] += 1
        else:
            out_of_scope += 1
    support = Counter[str]()
    for (label, _), count in counts.items():
        support[label] += count
    ranked = [label for label in order if support[label]]
    ranked += sorted(label for label in support if label not in set(ranked))
    rows = ranked if show is None else ranked[:show]
    hidden = len(rows) < len(ranked)
    columns = rows + [OTHER] if hidden else rows + sorted(known - set(rows))
    shown = set(columns)
    matrix = []
    for label in rows:
        line = [counts[(label, predicted)] for predicted in columns if predicted != OTHER]
        if hidden:
            line.append(sum(n for (t, p), n in counts.items() if t == label and p not in shown))
        matrix.append(line)
    return ConfusionView(rows=rows, columns=columns, counts=matrix, classes=len(ranked), out_of_scope=out_of_scope)
