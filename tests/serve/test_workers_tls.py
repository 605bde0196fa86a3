"""``civicml serve`` for real: two worker processes that both answer, and TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serve._support import ROW, free_port

TOKEN = "tok-workers"


def _env() -> dict[str, str]:
    from civicml.serve import hash_token

    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "CIVICML_SERVE_TOKEN_HASH": hash_token(TOKEN, salt="cd" * 16),
    }


def _serve(bundle: Path, tmp: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "civicml", "serve", "--bundle", str(bundle), "--port", str(port),
        "--log-dir", str(tmp / "log"), "--poll-seconds", "0", *args,
    ]  # fmt: skip
    with open(tmp / "out.txt", "wb") as out:
        proc = subprocess.Popen(cmd, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    return proc, port


def _wait(url: str, proc: subprocess.Popen[bytes], tmp: Path, **kw: Any) -> None:
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError((tmp / "out.txt").read_text())
        try:
            if httpx.get(url, timeout=2, **kw).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("server did not become ready: " + (tmp / "out.txt").read_text())


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture()
def stopper() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        _stop(p)


def test_two_workers_start_and_both_answer(
    bundle_dir: Path, tmp_path: Path, stopper: list[Any]
) -> None:
    proc, port = _serve(bundle_dir, tmp_path, "--workers", "2")
    stopper.append(proc)
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/v2/health/ready", proc, tmp_path)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(base + "/predict", json=ROW, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    # Each worker process has its own start time on /metrics: two distinct values, two workers.
    starts: set[str] = set()
    deadline = time.time() + 60
    while len(starts) < 2 and time.time() < deadline:
        with httpx.Client(timeout=10) as c:  # a fresh connection each time
            text = c.get(base + "/metrics", headers=headers).text
        starts.add(re.search(r"^civicml_start_time_seconds (\S+)$", text, re.M).group(1))
    assert len(starts) == 2, (tmp_path / "out.txt").read_text()
    assert "2 worker(s)" in (tmp_path / "out.txt").read_text()


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp / "cert.pem", tmp / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_tls_with_certfile_and_keyfile(
    bundle_dir: Path, tmp_path: Path, stopper: list[Any]
) -> None:
    import ssl

    pytest.importorskip("cryptography")
    certfile, keyfile = _self_signed(tmp_path)
    proc, port = _serve(
        bundle_dir, tmp_path, "--certfile", str(certfile), "--keyfile", str(keyfile)
    )
    stopper.append(proc)
    ctx = ssl.create_default_context(cafile=str(certfile))
    base = f"https://127.0.0.1:{port}"
    _wait(base + "/v2/health/ready", proc, tmp_path, verify=ctx)
    r = httpx.post(
        base + "/predict",
        json=ROW,
        headers={"Authorization": f"Bearer {TOKEN}"},
        verify=ctx,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["prediction"] in ("yes", "no")
    with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port does not answer
        httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=3).raise_for_status()
