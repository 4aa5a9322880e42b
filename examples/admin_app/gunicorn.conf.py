"""gunicorn's settings for the portal: ``gunicorn -c examples/admin_app/gunicorn.conf.py
examples.admin_app.wsgi:app``. Every value comes from the environment.

* ``QLEADS_BIND`` (default ``0.0.0.0:8000``), ``QLEADS_WEB_WORKERS`` (processes, default
  2 × CPUs + 1, at most 8), ``QLEADS_WEB_THREADS`` (threads per process, default 4: the
  portal waits on the database more than it computes), ``QLEADS_WEB_TIMEOUT`` (seconds,
  default 30).
* ``forwarded_allow_ips`` (``QLEADS_FORWARDED_ALLOW_IPS``, default ``127.0.0.1``): the
  proxies whose ``X-Forwarded-*`` gunicorn believes. The portal itself trusts
  ``QLEADS_PROXY_COUNT`` proxies (werkzeug's ``ProxyFix``); set both for the proxy in
  front, and never ``*`` when clients can reach gunicorn directly.
* The access log (stdout) has no query strings: a reset link's token or a search term
  never lands in it.
* With ``QLEADS_METRICS`` on, prometheus_client's multiprocess mode: the workers write
  their counters to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless
  given), a dead worker's are marked, and ``/metrics`` of any worker sums them.
* No ``preload_app``: each worker builds its own app after the fork, so no database
  connection or thread is shared across processes.
* Once a worker has built its app, the objects it holds for its lifetime (the app, its
  extensions, the loaded modules) are frozen out of the garbage collector
  (``post_worker_init``): a full collection would otherwise walk them all, some 130,000
  objects, holding every thread of the worker for about 40 ms at a time.
"""

from __future__ import annotations

import gc
import glob
import multiprocessing
import os
import tempfile
from typing import Any

bind = os.environ.get("QLEADS_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("QLEADS_WEB_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("QLEADS_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("QLEADS_WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("QLEADS_WEB_GRACEFUL_TIMEOUT", "20"))
forwarded_allow_ips = os.environ.get("QLEADS_FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = False
# gunicorn 27's control socket sits at one path per user: two instances on one host
# would share it. The portal needs none (older gunicorns ignore the name).
control_socket_disable = True
accesslog = os.environ.get("QLEADS_ACCESS_LOG", "-")
errorlog = "-"
# %(U)s is the path without the query string (%(r)s would carry it).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

if os.environ.get("QLEADS_METRICS", "").strip().lower() in {"1", "true", "yes", "on"}:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="qleads-prometheus-"))


def on_starting(server: Any) -> None:
    """Counters of an earlier run must not be added to this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    """The app is built: what is alive now lives as long as the worker, and the
    collector's full passes need not walk it again (``gc.freeze``)."""
    gc.collect()
    gc.freeze()
