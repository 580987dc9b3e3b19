"""Widgets whose view runs in the browser on the page's one classroom socket.

The JupyterLab extension's chat and participants views (``ChatView``, ``ParticipantsView``
in the ``jupyter-classroom`` module) share the page's socket with the board and video views.
The kernel hands each view one thing: a one-time ticket (the comm's ``ticket_request``) to
attach that socket to this kernel's membership. From then on the view sends and receives by
itself, so chat and the host's controls work while the kernel runs a cell.
"""

from __future__ import annotations

from traitlets import Unicode

from .frontend import PageSocketView

__all__ = ["ChatPanel", "PageSocketView", "ParticipantsPanel"]


class ChatPanel(PageSocketView):
    """The browser chat: backlog, live messages, sending and direct messages."""

    _model_name = Unicode("ChatModel").tag(sync=True)
    _view_name = Unicode("ChatView").tag(sync=True)


class ParticipantsPanel(PageSocketView):
    """The browser participants list with the host's controls."""

    _model_name = Unicode("ParticipantsModel").tag(sync=True)
    _view_name = Unicode("ParticipantsView").tag(sync=True)
