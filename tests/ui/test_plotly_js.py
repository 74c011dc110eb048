"""Pages load the plotly.js that the pinned plotly package bundles: the library drawing the figures is the
one plotly.py builds them for."""

import gzip
import re
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


def test_make_run_serves_plotly_js_hashed_and_gzipped(settings, tmp_path: Path) -> None:
    """`make run`'s storage (settings/local.py; scripts/run.sh runs collectstatic): a content-hashed name that
    WhiteNoise caches for a year, with a gzip copy beside it that it sends to browsers that accept one."""
    from webapp.config.settings import local

    settings.STORAGES = local.STORAGES
    settings.STATIC_ROOT = tmp_path

    call_command("collectstatic", interactive=False, verbosity=0)

    folder = (tmp_path / STATIC_PATH).parent
    (hashed,) = [p for p in folder.iterdir() if re.fullmatch(r"plotly\.min\.[0-9a-f]{12}\.js", p.name)]
    assert hashed.read_bytes() == get_plotlyjs().encode()
    gzipped = hashed.with_name(hashed.name + ".gz")
    assert gzip.decompress(gzipped.read_bytes()) == hashed.read_bytes()
    assert gzipped.stat().st_size < hashed.stat().st_size / 3  # 4.8 MB -> about 1.5 MB
