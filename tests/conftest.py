"""Shared test configuration: headless plotting, few threads, no network."""

from __future__ import annotations

import os
import socket

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
# Tests use tiny tensors: one intra-op thread avoids thread start-up and contention costs
# that dominate such small operations on a 2-core machine.
torch.set_num_threads(1)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never download: any attempt to open a non-loopback connection fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real_connect(self, address)
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise RuntimeError(f"A test tried to reach the network ({address!r}).")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def torchgeo_segmentation_task() -> type:
    """TorchGeo's segmentation task class in the API of the installed version.

    torchgeo 0.10 (Python 3.12+) has ``torchgeo.tasks.SemanticSegmentation`` and deprecates
    ``torchgeo.trainers.SemanticSegmentationTask``, the only name torchgeo 0.8 has; both take the
    same arguments.
    """
    try:
        from torchgeo.tasks import SemanticSegmentation
    except ImportError:  # torchgeo < 0.10
        from torchgeo.trainers import SemanticSegmentationTask as SemanticSegmentation
    return SemanticSegmentation


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests: tiny models run fastest so on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
