"""Serves the plotly.js that the pinned plotly package bundles, as static/vendor/plotly/plotly.min.js.

Figures are built by plotly.py and drawn by plotly.js: taking the browser's copy from the same package
means the two can never drift apart, and upgrading is one pin in requirements.txt. Only this one file of
the package's data is exposed (it also holds sample datasets and templates a page never needs).
"""

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor/plotly"
FILENAME = "plotly.min.js"
STATIC_PATH = f"{PREFIX}/{FILENAME}"


def bundled_plotly_js() -> Path:
    """Where the installed plotly package keeps its plotly.min.js."""
    return Path(str(resources.files("plotly") / "package_data" / FILENAME))


class PlotlyJsFinder(finders.BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=bundled_plotly_js().parent)
        # collectstatic and whitenoise put a storage's files under its `prefix`.
        self.storage.prefix = PREFIX

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if bundled_plotly_js().is_file():
            return []
        return [Error(f"{bundled_plotly_js()} is missing: reinstall the plotly package pinned in requirements.txt")]

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str] | None:
        if path != STATIC_PATH:
            return [] if find_all else None
        finders.searched_locations.append(str(bundled_plotly_js().parent))
        found = str(bundled_plotly_js())
        return [found] if find_all else found

    def list(self, ignore_patterns: list[str] | None) -> Iterator[tuple[str, FileSystemStorage]]:
        yield FILENAME, self.storage
