"""The room server: a Jupyter server extension hosting the classroom's Socket.IO endpoint."""
