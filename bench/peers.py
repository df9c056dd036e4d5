"""Installing and starting the peer gateways for ``side_by_side.py``, outside the project's deps.

- nginx (and wrk, the load generator) from Debian with apt-get;
- LiteLLM's proxy in its own virtualenv under ``bench/.peers/litellm-venv``;
- Portkey's gateway from npm in ``bench/.peers/portkey`` (``@hono/node-server`` pinned to
  1.13.5, without which its streaming fails with ``TypeError: immutable``).

Each install is tried once; a failure is returned as a reason, never raised, so the benchmark
can say what it could not measure and go on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS = Path(os.environ.get("LAVA_BENCH_PEERS_DIR") or BENCH / ".peers")  # where peers are installed
LITELLM_VERSION = "1.108.7"
PORTKEY_VERSION = "1.15.2"
HONO_NODE_SERVER = "1.13.5"
LITELLM_MASTER_KEY = "sk-bench-master"
INSTALL_TIMEOUT_S = 900


@dataclass
class Install:
    ok: bool
    detail: str  # a version when ok, the reason otherwise


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = INSTALL_TIMEOUT_S) -> tuple[bool, str]:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{' '.join(cmd[:3])}…: {exc}"
    text = (out.stdout + out.stderr).strip()
    return out.returncode == 0, text[-600:]


def _apt(package: str, binary: str) -> Install:
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if found:
        return Install(True, found)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return Install(False, f"{binary} is not installed and apt-get is not usable here (need root on Debian)")
    env_ok, out = _run(["apt-get", "install", "-y", "-q", package])
    if not env_ok:
        _run(["apt-get", "update", "-q"])
        env_ok, out = _run(["apt-get", "install", "-y", "-q", package])
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    return Install(True, found) if found else Install(False, f"apt-get install {package} failed: {out}")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def install_nginx(install: bool) -> Install:
    if not install:
        found = nginx_binary()
        return Install(True, found) if found else Install(False, "not installed (run without --no-install)")
    return _apt("nginx-light", "nginx")


def install_wrk(install: bool) -> Install:
    if not install:
        found = shutil.which("wrk")
        return Install(True, found) if found else Install(False, "not installed")
    return _apt("wrk", "wrk")


def litellm_bin() -> Path:
    return PEERS / "litellm-venv" / "bin" / "litellm"


def install_litellm(install: bool) -> Install:
    if litellm_bin().exists():
        return Install(True, LITELLM_VERSION)
    if not install:
        return Install(False, "not installed (run without --no-install)")
    venv = PEERS / "litellm-venv"
    ok, out = _run([sys.executable, "-m", "venv", str(venv)])
    if ok:
        ok, out = _run([str(venv / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"])
    return Install(True, LITELLM_VERSION) if ok and litellm_bin().exists() else Install(False, f"pip failed: {out}")


def portkey_dir() -> Path:
    return PEERS / "portkey"


def portkey_entry() -> Path:
    return portkey_dir() / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"


def install_portkey(install: bool) -> Install:
    if portkey_entry().exists():
        return Install(True, PORTKEY_VERSION)
    if not install:
        return Install(False, "not installed (run without --no-install)")
    if not shutil.which("npm"):
        return Install(False, "npm is not installed")
    folder = portkey_dir()
    folder.mkdir(parents=True, exist_ok=True)
    package = {
        "name": "lava-bench-portkey",
        "private": True,
        "dependencies": {"@portkey-ai/gateway": PORTKEY_VERSION, "@hono/node-server": HONO_NODE_SERVER},
        "overrides": {"@hono/node-server": HONO_NODE_SERVER},
    }
    (folder / "package.json").write_text(json.dumps(package, indent=2))
    ok, out = _run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder)
    return Install(True, PORTKEY_VERSION) if ok and portkey_entry().exists() else Install(False, f"npm failed: {out}")


def portkey_loopback_entry() -> Path:
    """Portkey's start script, bound to 127.0.0.1 (it has no bind-address option)."""
    src = portkey_entry().read_text()
    needle = "e({fetch:Lu.fetch,port:Ku})"
    if needle not in src:
        raise RuntimeError("Portkey's start-server.js changed: cannot bind it to 127.0.0.1")
    out = portkey_entry().with_name("start-loopback.mjs")
    out.write_text(src.replace(needle, 'e({fetch:Lu.fetch,port:Ku,hostname:"127.0.0.1"})'))
    return out


def nginx_config(folder: Path, port: int, upstream_port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / "tmp"
    temp.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            {user}worker_processes 1;
            daemon off;
            pid {folder}/nginx.pid;
            error_log stderr warn;
            events {{ worker_connections 4096; }}
            http {{
              access_log off;
              client_body_temp_path {temp}/body;
              proxy_temp_path {temp}/proxy;
              fastcgi_temp_path {temp}/fastcgi;
              uwsgi_temp_path {temp}/uwsgi;
              scgi_temp_path {temp}/scgi;
              upstream fake {{ server 127.0.0.1:{upstream_port}; keepalive 256; }}
              server {{
                listen 127.0.0.1:{port};
                location / {{
                  proxy_pass http://fake;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering off;
                }}
              }}
            }}
            """
        )
    )
    return conf


def litellm_config(folder: Path, upstream_port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "litellm.yaml"
    conf.write_text(
        textwrap.dedent(
            f"""\
            model_list:
              - model_name: gpt-4o-mini
                litellm_params:
                  model: openai/gpt-4o-mini
                  api_base: http://127.0.0.1:{upstream_port}/v1
                  api_key: sk-fake
                  input_cost_per_token: 0.00000015
                  output_cost_per_token: 0.0000006
            general_settings:
              master_key: {LITELLM_MASTER_KEY}
            litellm_settings:
              drop_params: true
            """
        )
    )
    return conf
