"""The JupyterLab server of ``make lab``: notebook templates that stay templates.

``make lab`` starts JupyterLab with
``--ServerApp.contents_manager_class=mutualisation.run.lab_server.TemplateContentsManager``
(:data:`SERVER_OPTION`). That contents manager is JupyterLab's usual one (with jupytext's
pairing), plus two rules for the **templates**, the ``.ipynb`` files directly in a
folder of :attr:`TemplateContentsManager.template_dirs` (``notebooks/``):

- **saved without outputs**: whatever JupyterLab saves (autosave included), the file
  written is the template, as :func:`clean_template` makes it (no outputs, no
  execution counts, no per-session cell metadata, ``language_info`` reduced to the
  language name). The outputs stay on screen; ``git status`` stays clean; the jupytext
  twin ``.py`` is written from the same cleaned notebook;
- **opened unmodified**: JupyterLab writes the kernel's ``language_info`` (Python
  version, lexer…) into a notebook as soon as its kernel starts, which marks it as
  modified. A template is therefore served with the ``language_info`` that the
  project's kernel (this same Python, with ipykernel) will report, so that nothing
  changes when the kernel starts.

Executed notebooks (``outputs/``, or a template saved under another name elsewhere)
are saved as usual.
"""

from __future__ import annotations

import copy
import functools
from pathlib import PurePosixPath
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from traitlets import List, Unicode

try:  # jupytext pairs notebooks/X.ipynb with notebooks/X.py (jupytext.toml)
    from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class
except ImportError:  # pragma: no cover - jupytext is a dependency of the project
    _Base: type = AsyncLargeFileManager
else:
    _Base = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)

#: The option of ``jupyter lab`` that selects this contents manager.
SERVER_OPTION = (
    "--ServerApp.contents_manager_class=mutualisation.run.lab_server.TemplateContentsManager"
)

#: The kernel every template names: the project's environment, registered by `make kernel`.
PROJECT_KERNELSPEC = {"display_name": "Python (mutualisation)", "language": "python",
                      "name": "mutualisation"}

#: Cell metadata that JupyterLab adds during a session and a template never keeps.
SESSION_CELL_METADATA = ("execution", "trusted", "collapsed", "scrolled")


def clean_template(notebook: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``notebook`` (nbformat 4, as JSON) as a template is stored.

    Code cells lose their outputs and execution count; every cell loses the metadata of
    :data:`SESSION_CELL_METADATA` and ``jupyter.outputs_hidden``; the notebook's
    ``language_info`` keeps its ``name`` only. Everything else (sources, ids, tags,
    other metadata) is kept as is; the kernelspec is always the project's.
    """
    clean = copy.deepcopy(notebook)
    for cell in clean.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        metadata = cell.get("metadata", {})
        for key in SESSION_CELL_METADATA:
            metadata.pop(key, None)
        jupyter = metadata.get("jupyter")
        if isinstance(jupyter, dict):
            jupyter.pop("outputs_hidden", None)
            if not jupyter:
                del metadata["jupyter"]
    metadata = clean.setdefault("metadata", {})
    # JupyterLab switches a notebook whose kernel is not registered yet (before `make
    # kernel`) to "Python 3": a template always names the project's kernel.
    metadata["kernelspec"] = dict(PROJECT_KERNELSPEC)
    language = metadata.get("language_info")
    if isinstance(language, dict) and "name" in language:
        metadata["language_info"] = {"name": language["name"]}
    return clean


@functools.cache
def kernel_language_info() -> dict[str, Any]:
    """The ``language_info`` that an ipykernel kernel of this Python reports."""
    from ipykernel.ipkernel import IPythonKernel

    return copy.deepcopy(dict(IPythonKernel.language_info))


def _with_kernel_language_info(notebook: dict[str, Any]) -> None:
    """Give a Python template the ``language_info`` its kernel will report (in place)."""
    metadata = notebook.setdefault("metadata", {})
    language = metadata.get("language_info") or {}
    if language.get("name", "python") != "python":
        return
    try:
        metadata["language_info"] = {**language, **kernel_language_info()}
    except ImportError:  # pragma: no cover - ipykernel is a dependency of the project
        return


class TemplateContentsManager(_Base):  # type: ignore[misc, valid-type]
    """JupyterLab's contents manager (with jupytext), keeping templates clean (module doc)."""

    template_dirs = List(
        Unicode(),
        default_value=["notebooks"],
        help="Folders (paths from the server's root) whose .ipynb files are templates.",
    ).tag(config=True)

    def is_template(self, path: str) -> bool:
        """True for ``notebooks/X.ipynb`` and its jupytext twin ``notebooks/X.py``.

        A twin opened « as a notebook » is saved through jupytext into the paired
        ``.ipynb``: it must be cleaned the same way (a path as the contents API gives it).
        """
        api_path = PurePosixPath(path.strip("/"))
        folders = {PurePosixPath(folder.strip("/")) for folder in self.template_dirs}
        return api_path.suffix in (".ipynb", ".py") and api_path.parent in folders

    async def get(self, path: str, content: bool = True, type: str | None = None,
                  format: str | None = None, **kwargs: Any) -> dict[str, Any]:
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if (content and model.get("type") == "notebook" and model.get("content") is not None
                and self.is_template(path)):
            _with_kernel_language_info(model["content"])
        return model

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        if (model.get("type") == "notebook" and model.get("content") is not None
                and self.is_template(path)):
            model = {**model, "content": clean_template(model["content"])}
            self.log.info("Modèle %s enregistré sans sorties", path)
        return await super().save(model, path)

