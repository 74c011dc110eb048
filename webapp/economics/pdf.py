"""The report's PDF: headless Chromium prints the self-contained HTML export, so the PDF shows exactly what the
HTML file does. The file opens from a private temporary folder and loads nothing from outside it; virtual
time lets the page's scripts (plotly.js drawing the charts) finish before the page is printed."""

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# Flags for a headless print in a server: no sandbox (we may run as root in a container), no GPU, and no
# background traffic (updates, sync, field trials): the report must print the same with no network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
    "--run-all-compositor-stages-before-draw",
)
# Virtual milliseconds the page may run before printing: plotly.js parses and draws well within it, and
# virtual time passes as fast as the page lets it, so this is not a wait.
VIRTUAL_TIME_BUDGET_MS = 20_000


class PdfUnavailable(RuntimeError):
    """The PDF can't be printed here; the message says why and what to use instead."""


def chromium_path() -> str | None:
    """The configured Chromium (setting CHROMIUM, env DISTILLERY_CHROMIUM) when it can run, else None."""
    configured = str(settings.CHROMIUM)
    found = shutil.which(configured)
    return found if found else None


def html_to_pdf(html: str) -> bytes:
    """Print `html` (a self-contained page) to PDF bytes. Raises PdfUnavailable, never a bare error."""
    chromium = chromium_path()
    if chromium is None:
        raise PdfUnavailable(
            f"PDF export needs Chromium, and there is none at '{settings.CHROMIUM}' (set DISTILLERY_CHROMIUM, or "
            "install Debian's chromium package). The HTML export has the same report and prints from any browser."
        )
    with tempfile.TemporaryDirectory(prefix="distillery-pdf-") as folder:
        page, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(folder) / 'profile'}",  # a fresh profile: concurrent prints never share one
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(  # a fixed command: the only argument from outside is our own file
                command,
                capture_output=True,
                timeout=settings.PDF_TIMEOUT_SECONDS,
                env={**os.environ, "HOME": folder},  # Chromium writes caches under HOME
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PdfUnavailable(
                f"Printing the PDF took longer than {settings.PDF_TIMEOUT_SECONDS} s and was stopped: try again, or "
                "use the HTML export."
            ) from exc
        except OSError as exc:
            raise PdfUnavailable(f"Chromium at '{chromium}' could not be started ({exc}).") from exc
        if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
            logger.warning("chromium --print-to-pdf failed (%s): %s", done.returncode, done.stderr[-2000:])
            raise PdfUnavailable("Chromium could not print the PDF (details in the server log): use the HTML export.")
        return pdf.read_bytes()
