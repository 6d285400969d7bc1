"""QEMU virtual machines for the VM lab: the stock Debian kernel, the pod image, cloud-init NoCloud.

Each VM boots the cached image (scripts/vmimage.sh) through a copy-on-write overlay, with the
Debian kernel and initramfs of the image itself (direct kernel boot: no bootloader to emulate).
A NoCloud seed (ISO 9660, volume `cidata`) carries the user_data exactly as the module rendered it;
lab-only settings (where the emulated AWS endpoints are) travel as vendor-data, never in user_data.
Commands run inside the guest through the QEMU guest agent; NICs are hot-plugged through QMP
(`device_add`), as AWS attaches secondary ENIs after launch.

Acceleration: TCG (software emulation) unless a probe proves that a KVM guest really boots here
(on some hosts /dev/kvm exists but a guest stalls after the BIOS). The probe's answer is cached
per QEMU and kernel version.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MICROSEG_CACHE", Path.home() / ".cache" / "microseg"))


class VMError(AssertionError):
    pass


@dataclass(frozen=True)
class Image:
    """The built pod image: a raw ext4 root filesystem and the kernel + initramfs inside it."""

    root: Path

    @property
    def disk(self) -> Path:
        return self.root / "rootfs.img"

    @property
    def kernel(self) -> Path:
        return self.root / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.root / "initrd.img"

    @classmethod
    def current(cls) -> Image:
        """The image of this checkout's package list (scripts/vmimage.sh prints its folder)."""
        out = subprocess.run(
            [str(REPO / "scripts" / "vmimage.sh"), "--path"], capture_output=True, text=True, check=False
        )
        img = cls(Path(out.stdout.strip()))
        if out.returncode != 0 or not img.disk.is_file():
            raise VMError(f"the VM image is not built (scripts/vmimage.sh): {out.stderr.strip()}")
        return img


def accel(image: Image, workdir: Path) -> str:
    """'kvm' only if a KVM guest prints the kernel banner within 20 s here, else 'tcg' (cached)."""
    qemu = subprocess.run(
        ["qemu-system-x86_64", "--version"], capture_output=True, text=True, check=True
    ).stdout.split("\n")[0]
    key = f"{qemu} {os.uname().release} {image.kernel.resolve().name} {image.kernel.stat().st_size}"
    cache = CACHE / "vmimage" / "accel.json"
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    if key in known:
        return known[key]
    answer = "tcg"
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        log = workdir / "kvm-probe.log"
        proc = subprocess.Popen(
            [
                "qemu-system-x86_64",
                "-enable-kvm",
                "-m",
                "256",
                "-nographic",
                "-no-reboot",
                "-kernel",
                str(image.kernel),
                "-append",
                "console=ttyS0 panic=-1",
                "-serial",
                f"file:{log}",
                "-monitor",
                "none",
                "-display",
                "none",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if log.is_file() and "Linux version" in log.read_text(errors="replace"):
                answer = "kvm"
                break
            time.sleep(0.5)
        proc.kill()
        proc.wait()
    known[key] = answer
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(known, indent=1))
    return answer


@dataclass
class Nic:
    """One NIC: `mac` (the ENI's), and either QEMU user networking (`user=True`: DHCP and the
    host's 127.0.0.1 as 10.0.2.2, the stand-in for the public subnet and the AWS endpoints) or a
    shared L2 segment between VMs (`segment`: a UDP multicast group on the loopback)."""

    mac: str
    segment: int | None = None
    user: bool = False
    # (guest address:port, host port): the guest reaches exactly these host services, nothing else.
    guestfwd: tuple[tuple[str, int], ...] = ()

    def netdev(self, nid: str) -> str:
        if self.user:
            # restrict=on: no route out of the host (no mirror, no internet), as on a pod's subnets.
            fwd = "".join(f",guestfwd=tcp:{g}-cmd:socat - TCP:127.0.0.1:{port}" for g, port in self.guestfwd)
            return f"user,id={nid},restrict=on{fwd}"
        return f"socket,id={nid},mcast=230.0.0.1:{self.segment},localaddr=127.0.0.1"


def primary_network_config(mac: str) -> str:
    """NoCloud network-config for the primary NIC on QEMU user networking: the subnet's router.

    With restrict=on, QEMU's DHCP server leaves out the router, which a VPC subnet's DHCP always
    gives; the instance needs it (the vpn finds its public interface by the default route)."""
    return "\n".join(
        [
            "version: 1",
            "config:",
            "  - type: physical",
            "    name: eth0",
            f'    mac_address: "{mac}"',
            "    subnets:",
            "      - type: static",
            "        address: 10.0.2.15/24",
            "        gateway: 10.0.2.2",
            "",
        ]
    )


def seed_iso(
    path: Path,
    instance_id: str,
    user_data: bytes,
    vendor_data: str | None = None,
    network_config: str | None = None,
) -> Path:
    """A NoCloud seed: user-data as given (gzip or text: cloud-init detects both), meta-data, and
    optional vendor-data and network-config."""
    d = path.with_suffix(".d")
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "user-data").write_bytes(user_data)
    (d / "meta-data").write_text(f"instance-id: {instance_id}\nlocal-hostname: {instance_id}\n")
    if vendor_data is not None:
        (d / "vendor-data").write_text(vendor_data)
    if network_config is not None:
        (d / "network-config").write_text(network_config)
    subprocess.run(
        ["genisoimage", "-quiet", "-output", str(path), "-volid", "cidata", "-joliet", "-rock", str(d)],
        check=True,
    )
    return path


@dataclass
class VM:
    name: str
    image: Image
    workdir: Path
    accel: str = "tcg"
    memory_mb: int = 768
    # Larger than the image's filesystem, as an EBS root volume is: cloud-init grows it at first boot.
    disk_gb: int = 3
    cpus: int = 1
    nics: list[Nic] = field(default_factory=list)
    seed: Path | None = None
    # Host folders shared with the guest (9p): (path, mount tag); read-only, the guest mounts them.
    shares: list[tuple[Path, str]] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.overlay = self.workdir / f"{self.name}.qcow2"
        self.console = self.workdir / f"{self.name}.console.log"
        self.qmp_path = self.workdir / f"{self.name}.qmp"
        self.qga_path = self.workdir / f"{self.name}.qga"
        self._plugged = 0

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if not self.overlay.exists():
            subprocess.run(
                [
                    "qemu-img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-F",
                    "raw",
                    "-b",
                    str(self.image.disk),
                    str(self.overlay),
                    f"{self.disk_gb}G",
                ],
                check=True,
            )
        cmd = [
            "qemu-system-x86_64",
            "-name",
            self.name,
            "-m",
            str(self.memory_mb),
            "-smp",
            str(self.cpus),
            "-nographic",
            "-no-user-config",
            "-nodefaults",
            "-display",
            "none",
            "-kernel",
            str(self.image.kernel),
            "-initrd",
            str(self.image.initrd),
            "-append",
            "root=/dev/vda rw console=ttyS0 net.ifnames=1 systemd.journald.forward_to_console=0",
            "-drive",
            f"file={self.overlay},if=virtio,format=qcow2",
            "-serial",
            f"file:{self.console}",
            "-qmp",
            f"unix:{self.qmp_path},server=on,wait=off",
            "-chardev",
            f"socket,path={self.qga_path},server=on,wait=off,id=qga0",
            "-device",
            "virtio-serial",
            "-device",
            "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
        ]
        # TCG: the baseline x86-64 CPU, not `max`. With AVX2 offered, glibc and Python pick string and
        # memory routines whose vector instructions TCG runs as helper calls; measured on the pod image,
        # a boot to cloud-init's end took ~13 % less host CPU with qemu64 (52 s against 60-63 s).
        cmd += ["-enable-kvm", "-cpu", "host"] if self.accel == "kvm" else ["-accel", "tcg", "-cpu", "qemu64"]
        if self.seed is not None:
            cmd += ["-drive", f"file={self.seed},if=virtio,format=raw,readonly=on"]
        for path, tag in self.shares:
            cmd += ["-virtfs", f"local,path={path},mount_tag={tag},security_model=none,readonly=on"]
        for i, nic in enumerate(self.nics):
            cmd += ["-netdev", nic.netdev(f"n{i}"), "-device", f"virtio-net-pci,netdev=n{i},mac={nic.mac}"]
        self.console.write_bytes(b"")
        with open(self.workdir / f"{self.name}.qemu.log", "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        self._wait_socket(self.qmp_path)

    def _wait_socket(self, path: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc is not None and self.proc.poll() is not None:
                raise VMError(
                    f"{self.name}: qemu exited: {(self.workdir / f'{self.name}.qemu.log').read_text()}"
                )
            if time.monotonic() > deadline:
                raise VMError(f"{self.name}: {path} did not appear")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def mount_shares(self, root: str = "/mnt") -> None:
        """Mounts the 9p shares at ROOT/<tag> in the guest."""
        for _, tag in self.shares:
            self.sh(
                f"modprobe 9pnet_virtio; mkdir -p {root}/{tag}; mountpoint -q {root}/{tag} ||"
                f" mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 {tag} {root}/{tag}"
            )

    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    # --- QMP ---------------------------------------------------------------------------------
    def qmp(self, command: str, **arguments: Any) -> Any:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(str(self.qmp_path))
            f = s.makefile("rw")
            json.loads(f.readline())  # greeting
            for msg in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": arguments}):
                f.write(json.dumps(msg) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "event" not in reply:
                        break
                if "error" in reply:
                    raise VMError(f"{self.name}: QMP {command}: {reply['error']}")
            return reply.get("return")

    def hotplug_nic(self, nic: Nic) -> None:
        """Attach a NIC to the running VM, as AWS attaches a secondary ENI after launch."""
        self._plugged += 1
        nid = f"hp{self._plugged}"
        netdev = dict(kv.split("=", 1) for kv in nic.netdev(nid).split(",")[1:])
        self.qmp("netdev_add", type=nic.netdev(nid).split(",")[0], **netdev)
        self.qmp("device_add", driver="virtio-net-pci", netdev=nid, mac=nic.mac, id=f"dev-{nid}")

    # --- guest agent -------------------------------------------------------------------------
    def _qga(self, command: str, timeout: float = 30, **arguments: Any) -> Any:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(str(self.qga_path))
            f = s.makefile("rwb")
            # guest-sync-delimited flushes anything a previous, interrupted client left behind; the
            # agent answers it after a 0xFF byte (not UTF-8, hence the binary stream).
            token = int(time.monotonic() * 1000) % 2**31
            f.write(
                json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": token}}).encode() + b"\n"
            )
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    raise OSError("guest agent closed the channel")
                line = line.split(b"\xff")[-1].strip()
                if line and json.loads(line).get("return") == token:
                    break
            f.write(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
            f.flush()
            reply = json.loads(f.readline())
        if "error" in reply:
            raise VMError(f"{self.name}: guest agent {command}: {reply['error']}")
        return reply.get("return")

    def wait_agent(self, timeout: float = 300) -> float:
        """Waits until the guest agent answers (userspace is up); returns the seconds waited."""
        start = time.monotonic()
        while True:
            try:
                self._qga("guest-ping", timeout=3)
                return time.monotonic() - start
            except (OSError, ValueError, VMError):
                if self.proc is not None and self.proc.poll() is not None:
                    raise VMError(
                        f"{self.name}: qemu exited during boot\n{self.console_text()[-3000:]}"
                    ) from None
                if time.monotonic() - start > timeout:
                    raise VMError(
                        f"{self.name}: no guest agent after {timeout}s\n{self.console_text()[-3000:]}"
                    ) from None
                time.sleep(2)

    def sh(self, script: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs a shell script in the guest as root; returns its exit code and output."""
        pid = self._qga("guest-exec", path="/bin/sh", arg=["-c", script], **{"capture-output": True})["pid"]
        deadline = time.monotonic() + timeout
        while True:
            st = self._qga("guest-exec-status", pid=pid)
            if st.get("exited"):
                break
            if time.monotonic() > deadline:
                raise VMError(f"{self.name}: timed out after {timeout}s: {script}")
            time.sleep(0.3)
        out = base64.b64decode(st.get("out-data", "")).decode(errors="replace")
        err = base64.b64decode(st.get("err-data", "")).decode(errors="replace")
        proc = subprocess.CompletedProcess(script, st.get("exitcode", -1), out, err)
        if check and proc.returncode != 0:
            raise VMError(f"{self.name}: `{script}` exited {proc.returncode}:\n{out}{err}")
        return proc

    def reboot(self, timeout: float = 300) -> float:
        """Reboots from inside the guest and waits for userspace again; returns the seconds taken."""
        start = time.monotonic()
        boot_id = self.sh("cat /proc/sys/kernel/random/boot_id").stdout.strip()
        # The agent may go away before it answers.
        with contextlib.suppress(OSError, ValueError, VMError):
            self._qga("guest-exec", path="/bin/systemctl", arg=["reboot"])
        while True:
            time.sleep(2)
            try:
                if self.sh("cat /proc/sys/kernel/random/boot_id", timeout=10).stdout.strip() != boot_id:
                    return time.monotonic() - start
            except (OSError, ValueError, VMError):
                pass
            if time.monotonic() - start > timeout:
                raise VMError(f"{self.name}: no reboot within {timeout}s\n{self.console_text()[-3000:]}")
