"""The stand-in for the core VPC's interface endpoints with private DNS, for the VM lab's guests.

On AWS a pod reaches SSM, CloudWatch Logs and Monitoring at their regional names over TLS, resolved
to interface endpoints in the core VPC; credentials come from the instance profile. In the lab the
guest resolves the same names to one address (an /etc/hosts entry), QEMU forwards that address's
port 443 to a TLS terminator on the host (socat, with a certificate of a CA made for this run and
trusted by the guest), which forwards to the moto server. The software in the image uses its
unchanged defaults: real hostnames, HTTPS, certificate verification.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("ssm", "logs", "monitoring", "ec2", "sts")


@dataclass
class Endpoints:
    region: str
    address: str  # what the names resolve to inside the guest
    ca_pem: str
    tls_port: int  # host port of the TLS terminator
    proc: subprocess.Popen[bytes]

    @property
    def hostnames(self) -> list[str]:
        return [f"{s}.{self.region}.amazonaws.com" for s in SERVICES]

    def vendor_data(self) -> str:
        """cloud-init vendor-data: trust the lab CA, resolve the names, give the role's keys.

        User-data replaces vendor-data key by key (the module's write_files would drop ours), so
        everything here uses keys the pods' user_data never sets: ca_certs, bootcmd (every boot,
        before any unit of the pod) and locale (the Debian AMI's own cloud.cfg sets it; the lab
        image has no generated en_US locale)."""
        ca = "\n".join(f"      {line}" for line in self.ca_pem.strip().splitlines())
        hosts = " ".join(self.hostnames)
        creds = "[default]\\naws_access_key_id = testing\\naws_secret_access_key = testing\\n"
        return "\n".join(
            [
                "#cloud-config",
                "locale: C.UTF-8",
                "ca_certs:",
                "  trusted:",
                "    - |",
                ca,
                "bootcmd:",
                f"  - grep -q '{self.hostnames[0]}' /etc/hosts ||"
                f" echo '{self.address} {hosts}' >> /etc/hosts",
                "  - mkdir -p -m 0700 /root/.aws",
                f"  - umask 077; printf '{creds}' > /root/.aws/credentials",
                f"  - printf '[default]\\nregion = {self.region}\\n' > /root/.aws/config",
                "",
            ]
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start(workdir: Path, region: str, moto_port: int, tls_port: int, address: str) -> Endpoints:
    """A CA and a certificate for the regional names, and socat terminating TLS towards moto."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = workdir / "ca.key", workdir / "ca.crt"
    key, csr, crt = workdir / "ep.key", workdir / "ep.csr", workdir / "ep.crt"
    names = [f"{s}.{region}.amazonaws.com" for s in SERVICES]
    ssl = ["openssl"]
    subprocess.run(
        [
            *ssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca_crt,
            "-days",
            "2",
            "-subj",
            "/CN=microseg VM lab CA",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *ssl,
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            f"/CN={names[0]}",
        ],
        check=True,
        capture_output=True,
    )
    ext = workdir / "ep.ext"
    ext.write_text("subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
    subprocess.run(
        [
            *ssl,
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca_crt,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            crt,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
        check=True,
        capture_output=True,
    )
    pem = workdir / "ep.pem"
    pem.write_text(crt.read_text() + key.read_text())
    proc = subprocess.Popen(
        [
            "socat",
            f"OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,reuseaddr,fork,cert={pem},verify=0",
            f"TCP:127.0.0.1:{moto_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "socat.log").open("wb"),
    )
    return Endpoints(region, address, ca_crt.read_text(), tls_port, proc)
