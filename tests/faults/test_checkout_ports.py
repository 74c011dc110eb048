"""Two checkouts on one machine run `make test` side by side: each test instance has its own ports."""

import os
import subprocess
from pathlib import Path

from webapp.config.settings.test import checkout_test_ports

ROOT = Path(__file__).resolve().parents[2]


def env_sh(instance: str, root: Path) -> tuple[int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")} | {"ROOT": str(root)}
    out = subprocess.run(
        ["bash", "-c", f'source "{ROOT}/scripts/env.sh" {instance} && echo $DISTILLERY_DB_PORT $DISTILLERY_REDIS_PORT'],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1])


def test_the_test_ports_come_from_the_checkout_path_in_the_shell_and_in_the_settings(tmp_path):
    here = env_sh("test", ROOT)
    assert here == checkout_test_ports(ROOT)
    assert all(20000 <= port < 32768 for port in here)  # below Linux's ephemeral ports
    elsewhere = env_sh("test", tmp_path)
    assert elsewhere == checkout_test_ports(tmp_path) and elsewhere != here


def test_make_run_keeps_its_documented_ports(tmp_path):
    assert env_sh("dev", tmp_path) == (54329, 63799)
