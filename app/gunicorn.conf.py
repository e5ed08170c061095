"""Gunicorn settings for the container (loaded with ``--config app/gunicorn.conf.py``).

Sized for a pod limited to 200m CPU / 128Mi. Measured idle in those limits (docs/benchmark.md):
the master about 23 MiB RSS (Python and gunicorn's own modules; this file imports only
app.settings, never Flask) and one worker about 31 MiB (Flask and the app on top of the pages it
shares with the master), some 31 MiB in all once shared pages are counted once (PSS, and the
kubelet's working set), so one worker with a few threads stays under the 64Mi request.
Gunicorn's docs size workers and threads by host cores, which a container allowed a fraction of
one core must not follow.

GUNICORN_ACCESS_LOG is "true" (the default) or "false": with it off, the same pod answered about
1.5 to 1.8 times as many requests a second in the benchmark.

GUNICORN_WORKER_CLASS is "gthread" or "sync" (unset: gthread for more than one thread, sync for
one, as gunicorn itself picks), GUNICORN_KEEPALIVE the seconds an idle connection stays open (5
by default; 0 closes every connection after its response). A sync worker serves one request at
a time and never keeps a connection alive, so it takes no threads and ignores the keep-alive;
the benchmark measures both classes (docs/benchmark.md).
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

# Logs go to the container's stdout/stderr, where the kubelet collects them; None: no access log.
accesslog = "-" if _settings.access_log else None
errorlog = "-"

# Workers signal they are alive by touching a heartbeat file here. The root filesystem is
# read-only and the pod mounts an emptyDir at /tmp; on memory-backed storage the heartbeat
# cannot stall a worker the way a slow disk can.
worker_tmp_dir = "/tmp"

# The control socket (for gunicornc) would be created under $HOME, which is read-only in the
# pod, and nothing there uses it.
control_socket_disable = True
