"""The names the package goes by, in one place.

The import package is ``jupyter_classroom``; it is distributed as ``jupyter-live-classroom``
(``jupyter-classroom`` on the package index is another project), which is also the npm name
of its JupyterLab extension and that extension's folder under ``share/jupyter/labextensions``.
The widgets' module stays ``jupyter-classroom``: saved notebooks name it in their widget state.
"""

from __future__ import annotations

from typing import Final

DISTRIBUTION: Final = "jupyter-live-classroom"
LABEXTENSION: Final = "jupyter-live-classroom"  # npm package, and its folder in share/jupyter
WIDGET_MODULE: Final = "jupyter-classroom"  # _model_module / _view_module of our widgets
