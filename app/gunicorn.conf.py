"""Gunicorn settings for the container (loaded with ``--config app/gunicorn.conf.py``).

Sized for a pod limited to 200m CPU / 128Mi, from what docs/benchmark.md measured in those
limits:

- One gthread worker with one thread. It answered about as many requests a second as the sync
  worker, gunicorn's own default, and more than with 4 threads (the one other count measured):
  a fifth of a core leaves nothing for more threads to overlap, only switching between them to
  pay for. Unlike sync, gthread keeps idle connections alive in a poller (5 s by default), so
  clients reuse them and a stopping worker can tell them to close.
- Memory: the master about 23 MiB RSS (Python and gunicorn's own modules; the master loads
  only gunicorn, app.settings and app.accesslog, never Flask) and the worker about 31 MiB
  (Flask and the app on top of the pages it shares with the master), some 31 MiB in all once
  shared pages are counted once (PSS, and the kubelet's working set), under the 64Mi request.
- The access log is on, written by app.accesslog.AccessLogger: gunicorn's own line, built
  with a fraction of gunicorn's work and written in batches of whole lines, at most a second
  late, rather than one write (and one hand-over of the interpreter lock) per request.

Gunicorn's docs size workers and threads by host cores, which a container allowed a fraction
of one core must not follow.

Each setting below comes from the environment (app/settings.py reads and checks it):
WEB_CONCURRENCY workers, GUNICORN_WORKER_CLASS "gthread" or "sync" (a sync worker serves one
request at a time, keeps no connection alive and takes no threads), GUNICORN_THREADS,
GUNICORN_KEEPALIVE the seconds an idle connection stays open (0 closes every connection after
its response), GUNICORN_GRACEFUL_TIMEOUT, and GUNICORN_ACCESS_LOG "true" or "false".
"""

import os

from app.settings import SettingError, server_settings

# Every interface, because the Service sends traffic to the pod IP, not to loopback.
bind = "0.0.0.0:8000"

try:
    _settings = server_settings(os.environ)
except SettingError as error:
    # SystemExit prints just the sentence; any other exception here makes gunicorn print a
    # traceback of this file around it.
    raise SystemExit(f"Invalid gunicorn setting: {error}") from None

worker_class = _settings.worker_class
workers = _settings.workers
threads = _settings.threads
# Must stay below the pod's terminationGracePeriodSeconds (30), or the kubelet kills
# workers mid-request before gunicorn's own deadline.
graceful_timeout = _settings.graceful_timeout_s
keepalive = _settings.keepalive_s
timeout = 30

if worker_class == "gthread":
    # gthread holds a thread while it waits for a new connection's first bytes, up to
    # DEFAULT_WORKER_DATA_TIMEOUT (5 s in gunicorn 27, not a setting), and only then hands the
    # connection to its poller, where it waits without one. With one thread, a connection that
    # sends nothing (a browser's preconnect, a port scan) would stall every other client for
    # those 5 s. Clients send their request right after connecting, so a quarter second only
    # moves slow ones to the poller sooner. (tests/app: an idle connection holds up no one.)
    import gunicorn.workers.gthread as _gthread

    _gthread.DEFAULT_WORKER_DATA_TIMEOUT = 0.25

# Logs go to the container's stdout/stderr, where the kubelet collects them; None: no access log.
accesslog = "-" if _settings.access_log else None
errorlog = "-"
logger_class = "app.accesslog.AccessLogger"

# Workers signal they are alive by touching a heartbeat file here. The root filesystem is
# read-only and the pod mounts an emptyDir at /tmp; on memory-backed storage the heartbeat
# cannot stall a worker the way a slow disk can.
worker_tmp_dir = "/tmp"

# The control socket (for gunicornc) would be created under $HOME, which is read-only in the
# pod, and nothing there uses it.
control_socket_disable = True
