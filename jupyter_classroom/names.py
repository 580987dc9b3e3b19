"""The names the package goes by, in one place: its distributions, its socket's path, and the
environment variables the server, its kernels and the hub pass each other.

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

# The room server's Socket.IO path under a Jupyter server's base URL (a hub service's too).
SOCKET_PATH: Final = "classroom/socket.io"

# Set by the server for the kernels it starts (or by a hub for users' servers): where the room
# server is, and the kernel token that enters it.
URL_ENV: Final = "JUPYTER_CLASSROOM_URL"
TOKEN_ENV: Final = "JUPYTER_CLASSROOM_TOKEN"
# A hub token limited to the hub's classroom service (access:services!service=classroom),
# minted for each user's server by the hub config (jupyter_classroom.hub_tokens). Never the
# server's own $JUPYTERHUB_API_TOKEN, which could enter the user's server.
HUB_TOKEN_ENV: Final = "JUPYTER_CLASSROOM_HUB_TOKEN"
MEMBER_SECRET_ENV: Final = "JUPYTER_CLASSROOM_MEMBER_SECRET"  # ClassroomApp.member_secret
BOARD_MODE_ENV: Final = "JUPYTER_CLASSROOM_BOARD"  # "kernel" forces the kernel-drawn board

# Set by JupyterHub: for a service it runs, and for a user's server.
HUB_SERVICE_NAME_ENV: Final = "JUPYTERHUB_SERVICE_NAME"
HUB_SERVICE_PREFIX_ENV: Final = "JUPYTERHUB_SERVICE_PREFIX"
HUB_SERVICE_URL_ENV: Final = "JUPYTERHUB_SERVICE_URL"
HUB_USER_ENV: Final = "JUPYTERHUB_USER"
