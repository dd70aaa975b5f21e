"""docs/configuration.md, "Errors": the example file gives exactly the message shown there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
DOC_PATH = "/etc/wats-sync/config.toml"


def example() -> tuple[str, str]:
    """The example file and the message under it, unwrapped to the one line it is."""
    section = DOC.read_text(encoding="utf-8").split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    toml, message = re.findall(r"^```(?:toml)?\n(.*?)^```", section, re.M | re.S)[:2]
    return toml, " ".join(message.split("\n")).strip()


def test_the_documented_config_error_is_what_config_check_prints(tmp_path: Path) -> None:
    toml, expected = example()
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "syncengine", "--config", str(config), "config", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().replace(str(config), DOC_PATH) == expected
