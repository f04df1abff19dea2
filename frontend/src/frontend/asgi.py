"""The ASGI application Hypercorn loads in each worker (`frontend.asgi:app`)."""

from frontend.server import build_asgi_app

app = build_asgi_app()
