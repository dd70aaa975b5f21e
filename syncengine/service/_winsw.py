"""The WinSW service definition (XML) for ``syncengine run`` on Windows.

WinSW (https://github.com/winsw/winsw) runs a console program as a Windows service. On stop it
sends Ctrl-C to the program, which the engine handles like SIGTERM (graceful shutdown within
the grace period); ``stoptimeout`` is longer than that before WinSW kills it. On failure it
restarts the service (``onfailure``); its own log handling rotates the captured output.

Nothing here has been run on Windows: the XML's content is tested, the service itself is not.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path, PureWindowsPath
from xml.etree import ElementTree as ET

from syncengine._config import EngineConfig

from ._systemd import SERVICE_NAME


def winsw_xml(
    config: EngineConfig,
    config_path: Path,
    *,
    name: str = SERVICE_NAME,
    python: str | None = None,
    log_dir: str = r"%ProgramData%\wats-sync\logs",
    textfile: Path | None = None,
    textfile_interval_s: float | None = None,
) -> str:
    """The XML text of the WinSW configuration file (``<name>.xml``)."""
    root = ET.Element("service")

    def add(tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(root, tag, attrs)
        if text is not None:
            element.text = text
        return element

    add("id", name)
    add("name", "wats-sync")
    add("description", "Forwards test reports to WATS exactly once (syncengine run).")
    add("executable", python or str(PureWindowsPath(sys.executable)))
    arguments = ["-m", "syncengine", "--config", f'"{config_path}"', "run"]
    if textfile is not None:
        arguments += ["--metrics-textfile", f'"{textfile}"']
        if textfile_interval_s is not None:
            arguments += ["--metrics-interval", f"{textfile_interval_s:g}"]
    add("arguments", " ".join(arguments))
    add("startmode", "Automatic")
    add("delayedAutoStart", "true")
    add("depend", "Tcpip")
    # Ctrl-C first (the engine's graceful stop), a hard stop only after the grace period.
    add("stoptimeout", f"{math.ceil(config.grace_period_s) + 30} sec")
    add("stopparentprocessfirst", "true")
    # Restart on failure; the delay lets Windows release the dead process's file locks
    # (docs/operations.md, "Restart right after a crash").
    add("onfailure", action="restart", delay="10 sec")
    add("onfailure", action="restart", delay="30 sec")
    add("onfailure", action="restart", delay="60 sec")
    add("resetfailure", "1 hour")
    add("env", name="PYTHONUNBUFFERED", value="1")
    add("env", name="PYTHONIOENCODING", value="utf-8")
    add("logpath", log_dir)
    log = add("log", mode="roll-by-size")
    ET.SubElement(log, "sizeThreshold").text = "10240"  # KB
    ET.SubElement(log, "keepFiles").text = "8"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False) + "\n"
