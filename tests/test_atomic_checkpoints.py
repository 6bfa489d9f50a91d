"""A checkpoint file is written whole or not at all: a failing write leaves the previous one intact."""

import pytest
import torch

from flik_lab.utils.atomic_checkpoint_io import AtomicCheckpointIO


class FailsToSerialize:
    def __reduce__(self):
        raise RuntimeError("disk full, process killed, ...")


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(1000)}, "broken": FailsToSerialize()}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left behind
    io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, path)
    assert torch.equal(torch.load(path, weights_only=True)["state_dict"]["w"], torch.zeros(3))
