"""The WSGI entry point gunicorn loads as ``app.wsgi:application``."""

from app import create_app

application = create_app()
