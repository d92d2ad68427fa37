"""Parity of our MC3-18 (avts::nets::VideoNet) with torchvision.models.video.mc3_18.

Usage: test_mc3_parity.py MC3_DUMP_EXE

torchvision's mc3_18 gets seeded random weights and random BatchNorm statistics (so that eval
mode really uses them); its state_dict goes to the C++ side by name, both run the same clips
with 2 threads, and the globally pooled outputs of layer1..layer4 must agree.
"""
import os
import subprocess
import sys
import tempfile

import torch
import torchvision

TOLERANCE = 1e-4
INPUT_SHAPE = (2, 3, 8, 112, 112)  # two clips: batching, temporal padding, the paper's crop


def reference_model():
    torch.manual_seed(0)
    model = torchvision.models.video.mc3_18()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    model.fc = torch.nn.Identity()
    return model.eval()


def pooled_stages(model, x):
    out = {}
    hooks = [getattr(model, name).register_forward_hook(
        lambda _m, _i, y, name=name: out.__setitem__(name, y.mean((2, 3, 4))))
        for name in ("layer1", "layer2", "layer3", "layer4")]
    with torch.no_grad():
        final = model(x)
    for h in hooks:
        h.remove()
    assert torch.allclose(final, out["layer4"], atol=1e-6)  # avgpool + flatten = pooled layer4
    return out


def main():
    dump_exe = sys.argv[1]
    torch.set_num_threads(2)
    model = reference_model()
    x = torch.randn(*INPUT_SHAPE, generator=torch.Generator().manual_seed(1))
    expected = pooled_stages(model, x)

    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, n) for n in ("mc3.pt", "input.pt", "out.pt")]
        state_dict = {k: v for k, v in model.state_dict().items()}  # plain dict, fc is gone
        torch.save(state_dict, paths[0])
        torch.save(x, paths[1])
        subprocess.run([dump_exe, "video", *paths], check=True)
        ours = torch.load(paths[2])

    failed = False
    for name, ref in expected.items():
        got = ours[name]
        diff = (got - ref).abs().max().item() if got.shape == ref.shape else float("inf")
        print(f"{name}: shape {tuple(got.shape)}, max |ref| {ref.abs().max().item():.4g}, "
              f"max abs diff {diff:.3g}")
        failed |= not diff < TOLERANCE
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
