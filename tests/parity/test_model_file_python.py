"""An avts model file read from Python PyTorch with the documented snippet.

Usage: test_model_file_python.py MC3_DUMP_EXE

MC3_DUMP_EXE writes a model with avts::Model::save and prints each tensor's shape, dtype
and sum; Python loads the file with torch.load(weights_only=True) (no code from the file
runs), checks the format, the config, every tensor, reproduces the model id, and loads the
paper preset's video net into torchvision's mc3_18.
"""
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
import torchvision

DTYPES = {"Float": torch.float32, "Long": torch.int64}


def write_model(dump_exe, preset, path):
    out = subprocess.run([dump_exe, "model-file", preset, path], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def check_compact(dump_exe, tmp):
    path = os.path.join(tmp, "model.avts")
    expected = write_model(dump_exe, "avts-compact", path)

    # The documented snippet.
    ckpt = torch.load(path, weights_only=True)
    cfg = json.loads(ckpt["config"])
    sd = ckpt["state_dict"]

    assert ckpt["format"] == "avts-model", ckpt["format"]
    assert ckpt["version"] == 1, ckpt["version"]
    assert cfg["preset"] == "avts-compact" and cfg == json.loads(expected["config"]), cfg
    assert cfg["audio"]["n_mels"] == 40 and cfg["embedding_dim"] == 128, cfg
    assert set(sd) == set(expected["tensors"]), set(sd) ^ set(expected["tensors"])
    for name, want in expected["tensors"].items():
        t = sd[name]
        assert list(t.shape) == want["shape"], (name, t.shape, want["shape"])
        assert t.dtype == DTYPES[want["dtype"]], (name, t.dtype, want["dtype"])
        got = t.double().sum().item()
        assert math.isclose(got, want["sum"], rel_tol=1e-9, abs_tol=1e-9), (name, got, want["sum"])
    assert "audio.layer1.1.running_var" in sd and "video.stem.1.num_batches_tracked" in sd

    # The model id: SHA-256 of the config JSON, then name + NUL + raw bytes of each tensor in
    # name order; its first 16 hex digits.
    h = hashlib.sha256(ckpt["config"].encode())
    for name in sorted(sd):
        h.update(name.encode() + b"\0")
        h.update(sd[name].contiguous().numpy().tobytes())
    assert h.hexdigest()[:16] == expected["id"], (h.hexdigest()[:16], expected["id"])
    print(f"compact: {len(sd)} tensors, id {expected['id']} reproduced")


def check_paper_video_net_loads_into_torchvision(dump_exe, tmp):
    path = os.path.join(tmp, "paper.avts")
    write_model(dump_exe, "avts-mc3-18", path)
    sd = torch.load(path, weights_only=True)["state_dict"]
    video = {k[len("video."):]: v for k, v in sd.items()
             if k.startswith("video.") and not k.startswith("video.proj.")}
    model = torchvision.models.video.mc3_18()
    result = model.load_state_dict(video, strict=False)
    assert sorted(result.missing_keys) == ["fc.bias", "fc.weight"], result.missing_keys
    assert not result.unexpected_keys, result.unexpected_keys
    assert torch.equal(model.layer3[1].conv2[0].weight, video["layer3.1.conv2.0.weight"])
    print(f"paper: {len(video)} video tensors load into torchvision mc3_18 (all but fc)")


def main():
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        check_compact(sys.argv[1], tmp)
        check_paper_video_net_loads_into_torchvision(sys.argv[1], tmp)


if __name__ == "__main__":
    main()
