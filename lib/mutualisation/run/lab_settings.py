"""JupyterLab as ``make lab`` starts it: an offline workspace that asks nothing and
fetches nothing from the internet.

Out of the box, JupyterLab 4 greets a new user with « Would you like to get notified about
official Jupyter news? » (in any language), and accepting it makes the server fetch
JupyterLab's news feed and check PyPI for updates. A workspace for public bodies, meant to
work offline, must not even offer it. Two settings, each enough on its own, together:

- in the **browser**, the notification plugin's settings ``fetchNews: "false"`` and
  ``checkForUpdates: false``, written by :func:`install` into the environment's
  ``share/jupyter/lab/settings/overrides.json`` (JupyterLab's defaults for this
  installation; a user's own settings still win): no prompt, no request for news;
- on the **server**, :data:`SERVER_OPTIONS` (``make lab``'s command line): no news URL and
  an update checker that checks nothing, whatever a user's settings say.

``make lab`` runs ``python -m mutualisation.run.lab_settings`` once per environment; without
``make`` (Windows, conda), run it by hand, then start JupyterLab with :data:`SERVER_OPTIONS`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mutualisation.files import write_whole

#: JupyterLab's plugin of the news prompt and the update check.
NOTIFICATION_PLUGIN = "@jupyterlab/apputils-extension:notification"

#: The settings of that plugin for this installation.
OVERRIDES: dict[str, dict[str, Any]] = {
    NOTIFICATION_PLUGIN: {"fetchNews": "false", "checkForUpdates": False},
}

#: Server options of ``make lab`` (the Makefile's ``LAB_OFFLINE``): no news, no update check.
SERVER_OPTIONS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)


def overrides_path(prefix: str | Path = sys.prefix) -> Path:
    """JupyterLab's ``overrides.json`` of the environment installed under ``prefix``."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def install(prefix: str | Path = sys.prefix) -> Path:
    """Write :data:`OVERRIDES` into the environment's ``overrides.json`` (keeping the other
    plugins' settings an administrator may have put there) and return its path."""
    path = overrides_path(prefix)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    for plugin, settings in OVERRIDES.items():
        current[plugin] = {**(current.get(plugin) or {}), **settings}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, (json.dumps(current, ensure_ascii=False, indent=2, sort_keys=True)
                       + "\n").encode("utf-8"))
    return path


if __name__ == "__main__":
    print(f"JupyterLab sans nouvelles ni recherche de mises à jour : {install()}")
