"""What the VM lab's modules share, so that CI pays for it once (TCG makes every boot and apply dear):

- `pod_example`: examples/pod applied on moto, read by the pod-boot and audit-trail modules (both boot
  its instances' user_data); applied again only if a module wiped moto since;
- `lab_vm`: one VM of the pod image with the repository shared in, where the Connect module runs the
  netns lab and then the peer module runs its fabric. It stops at the session's end, so the modules
  that use it run last (tests/conftest.py orders the VM lab's modules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import peer
import pytest
from tfharness import REPO, TfRoot, moto_env


@pytest.fixture(scope="session")
def pod_example(moto_server, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A function returning examples/pod as applied on moto: its state's resources and outputs, and where
    moto listens."""
    cache: dict[str, Any] = {}

    def applied() -> dict[str, Any]:
        if cache.get("resets") != moto_server.resets:
            moto_server.reset()
            env = moto_env(moto_server.endpoint)
            tf = TfRoot(REPO / peer.EXAMPLE, tmp_path_factory.mktemp("vmlab-pod"), env)
            tf.apply({"ami_id": peer.AMI})
            cache["resets"] = moto_server.resets
            cache["applied"] = {
                "resources": tf.resources(),
                "output": tf.output(),
                "endpoint": moto_server.endpoint,
                "port": int(moto_server.endpoint.rsplit(":", 1)[1]),
                "region": env["AWS_REGION"],
            }
        return dict(cache["applied"])

    return applied


@pytest.fixture(scope="session")
def lab_vm(moto_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[peer.FabricVM]:  # type: ignore[no-untyped-def]
    """The lab VM, booted (the AWS endpoints emulated as for the pods) with the shares mounted."""
    port = int(moto_server.endpoint.rsplit(":", 1)[1])
    fvm = peer.FabricVM(tmp_path_factory.mktemp("vmlab-vm"), "us-east-1", port)
    try:
        fvm.start()
        yield fvm
    finally:
        fvm.stop()
