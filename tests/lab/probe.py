"""Traffic probes run inside the lab's namespaces (`ip netns exec NS python3 probe.py ...`).

serve ADDR PORT...   accept TCP connections and answer each with the peer address it sees (after
                     the pod's SNAT that address names the pod that carried the flow)
connect DST PORT N [TIMEOUT [SPORT,...]]
                     open N connections (from the given or distinct source ports); print JSON
                     [{"sport": p, "peer": "<address the server saw>" | null}]
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading


def serve(addr: str, ports: list[int]) -> None:
    def loop(s: socket.socket) -> None:
        while True:
            c, peer = s.accept()
            try:
                c.sendall(f"{peer[0]}\n".encode())
            except OSError as e:  # a client that gave up must not stop the server
                print(f"{peer}: {e}", file=sys.stderr, flush=True)
            finally:
                c.close()

    listeners = []
    for port in ports:  # bind before "ready", so a client never races the listener
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(512)
        listeners.append(s)
    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in listeners]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


def connect(
    dst: str, port: int, n: int, timeout: float, sports: list[int] | None = None
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        s = socket.socket()
        s.settimeout(timeout)
        if sports:
            # Pinned ports are reused by a later flow: abort on close (RST) so the port is free at once.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.bind(("0.0.0.0", sports[i] if sports else 0))
        sport = s.getsockname()[1]
        try:
            s.connect((dst, port))
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            out.append({"sport": sport, "peer": data.decode().strip() or None})
        except OSError:
            out.append({"sport": sport, "peer": None})
        finally:
            s.close()
    return out


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "serve":
        serve(rest[0], [int(p) for p in rest[1:]])
    elif cmd == "connect":
        timeout = float(rest[3]) if len(rest) > 3 else 2.0
        sports = [int(p) for p in rest[4].split(",")] if len(rest) > 4 else None
        print(json.dumps(connect(rest[0], int(rest[1]), int(rest[2]), timeout, sports)))
    else:
        sys.exit(f"unknown command {cmd}")
