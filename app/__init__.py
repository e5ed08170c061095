"""The dummy Flask app: a greeting and a health check, both plain text.

Nothing is imported here: gunicorn's master reads ``app.settings`` through its config file
before it binds the port, and a Flask import at this level would slow every pod's start
and grow the master's memory for nothing (the master never serves a request).
"""
