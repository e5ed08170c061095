"""The WSGI entry point gunicorn loads as ``app.wsgi:application``."""

from app.factory import create_app

application = create_app()
