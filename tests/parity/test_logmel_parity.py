"""Parity of avts::LogMel with torchaudio's MelSpectrogram on a real clip.

Usage: test_logmel_parity.py LOGMEL_DUMP_EXE   (clip from $AVTS_TEST_MEDIA)

The clip's audio is decoded with PyAV and resampled to 16 kHz mono float; our frames come from
LOGMEL_DUMP_EXE, the reference from torchaudio on the same samples padded by (n_fft - win) / 2
zeros on each side, so that its center=False framing is ours (frame k = samples [k*hop, k*hop+win)).
Decoding and reference: tests/reference/avts_reference.py, shared with bench/bench_frontend.py.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from avts_reference import HOP, N_MELS, SAMPLE_RATE, WIN, decode_mono_16k, log_mel, mel_spectrogram  # noqa: E402

TOLERANCE = 1e-4


def reference_frames(samples):
    torch.set_num_threads(1)
    return log_mel(mel_spectrogram(), torch.from_numpy(samples)).T.numpy()  # n_frames x n_mels


def our_frames(dump_exe, samples):
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "samples.f32"), os.path.join(tmp, "frames.f32")
        samples.tofile(src)
        subprocess.run([dump_exe, src, dst], check=True)
        return np.fromfile(dst, dtype=np.float32).reshape(-1, N_MELS)


def main():
    dump_exe = sys.argv[1]
    clip = os.path.join(os.environ["AVTS_TEST_MEDIA"], "grid_s1_bbal8p.mpg")
    samples = decode_mono_16k(clip)
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    print(f"{clip}: {len(samples)} samples ({len(samples) / SAMPLE_RATE:.3f} s), rms {rms:.4f}")
    if rms < 1e-3:
        print("FAIL: decoded audio is (nearly) silent, the comparison would prove nothing")
        return 1

    ours, ref = our_frames(dump_exe, samples), reference_frames(samples)
    expected = (len(samples) - WIN) // HOP + 1
    print(f"frames: ours {ours.shape[0]}, torchaudio {ref.shape[0]}, formula {expected}")
    if ours.shape != ref.shape or ours.shape[0] != expected:
        print("FAIL: frame counts differ")
        return 1

    error = float(np.abs(ours - ref).max())
    # The check must have power: the same frames one hop late, or at the wrong band, differ a lot.
    shifted = float(np.abs(ours[1:] - ref[:-1]).max())
    band_swapped = float(np.abs(ours[:, 1:] - ref[:, :-1]).max())
    print(f"max |ours - torchaudio| = {error:.3g} (tolerance {TOLERANCE:g}); "
          f"log-mel range [{ref.min():.2f}, {ref.max():.2f}]")
    print(f"sanity: one hop shifted {shifted:.3g}, one band shifted {band_swapped:.3g}")
    if not error < TOLERANCE:
        print("FAIL: log-mel frames differ from torchaudio")
        return 1
    if not (shifted > 100 * TOLERANCE and band_swapped > 100 * TOLERANCE):
        print("FAIL: a shifted reference is not told apart; the comparison has no power")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
