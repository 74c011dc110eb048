"""Pages load the plotly.js that the pinned plotly package bundles: the library drawing the figures is the
one plotly.py builds them for."""

from pathlib import Path

from django.core.management import call_command
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from webapp.ui.staticfiles import STATIC_PATH


def test_the_page_loads_the_plotly_js_that_the_pinned_package_bundles(client) -> None:
    response = client.get(f"/static/{STATIC_PATH}")

    assert response.status_code == 200
    served = b"".join(response.streaming_content)
    assert served == get_plotlyjs().encode()
    assert f"plotly.js v{get_plotlyjs_version()}".encode() in served[:200]


def test_collectstatic_copies_plotly_js_and_nothing_else_of_the_package(settings, tmp_path: Path) -> None:
    settings.STATIC_ROOT = tmp_path

    call_command("collectstatic", interactive=False, verbosity=0)

    assert (tmp_path / STATIC_PATH).read_bytes() == get_plotlyjs().encode()
    assert [p.name for p in (tmp_path / STATIC_PATH).parent.iterdir()] == ["plotly.min.js"]
