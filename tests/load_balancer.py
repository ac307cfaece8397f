"""Debian's nginx on loopback, running the project's own load-balancer file
(deploy/nginx/vision-explorer.conf) with the test's ports, until the block ends."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, free_port
from tests.conftest import ROOT

SHIPPED = ROOT / "deploy" / "nginx" / "vision-explorer.conf"
NGINX = "/usr/sbin/nginx"


@contextmanager
def running_nginx(replica_ports: list[int], folder: Path):
    """Yields (the balancer's URL, its access log): one line per request, `status|upstreams|route|
    method|uri` (`upstreams`: those tried, the last one answered), so a test can tell which
    replica served which browser."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: scripts/run_tests.sh installs Debian's nginx package")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    text = SHIPPED.read_text()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in replica_ports)
    text, replaced = re.subn(r"(?:^    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers + "\n", text, flags=re.M)
    assert replaced == 1, "the shipped file's upstream block no longer has the form this test fills in"
    text, replaced = re.subn(r"^    listen \d+;", f"    listen 127.0.0.1:{port};", text, flags=re.M)
    assert replaced == 1, "the shipped file's listen line no longer has the form this test fills in"
    (folder / "vision-explorer.conf").write_text(text)
    # As root nginx's workers would switch to `nobody`, who cannot enter the test's folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                       "scgi"))
    (folder / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        f"events {{}}\nhttp {{\n  {temp}\n"
        f"  log_format replicas '$status|$upstream_addr|$vision_explorer_route|$request_method|$uri';\n"
        f"  access_log {folder / 'access.log'} replicas;\n  include {folder / 'vision-explorer.conf'};\n}}\n")
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (folder / "nginx.pid").exists():
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", folder / "access.log"
    finally:
        process.terminate()
        process.wait(30)
        if (folder / "access.log").exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(folder / "access.log", ARTIFACTS / "replicas-nginx-access.log")
