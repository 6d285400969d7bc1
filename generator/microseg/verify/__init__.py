"""Prove from the deployed network that no route lets a workload bypass the pods (`microseg verify`).

collect (boto3, read-only) -> model.Network (plain data) -> trace (pure) -> render (table or JSON).
"""

from .run import run_verify

__all__ = ["run_verify"]
