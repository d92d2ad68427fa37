"""The one PyTorch / torchaudio / PyAV reference of the avts networks and front end.

Used by the parity tests (tests/parity) and the benchmarks (bench/, bench/gpu): the video
network (torchvision's mc3_18 blocks at a base width, lib/model/video_net.cpp), the audio network
(the VGG of lib/model/audio_net.cpp), PyAV decoding to 16 kHz mono and the torchaudio log-mel with
avts's framing. Importing this module needs only torch: torchvision, torchaudio and PyAV are
imported by the functions that use them (bench/gpu/bench_gpu.py runs where only some exist).
Callers add this folder to sys.path relative to their own __file__.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_RATE, N_FFT, WIN, HOP, N_MELS, LOG_OFFSET = 16000, 512, 400, 160, 40, 1e-6
# Video normalisation (lib/frontend/avts/config.h): per RGB channel, on values in [0, 1].
MEAN = [0.43216, 0.394666, 0.37645]
STD = [0.22803, 0.22145, 0.216989]


class MC3(nn.Module):
    """torchvision's mc3_18 trunk at base width w (w = 64 is mc3_18) + projection: lib/model/video_net.cpp.
    Its parameter names are mc3_18's (stem, layer1..layer4) with proj for mc3_18's fc."""

    def __init__(self, w, dim=128):
        from torchvision.models.video.resnet import BasicBlock, Conv3DNoTemporal, Conv3DSimple, VideoResNet
        super().__init__()
        self.inplanes = w
        self.stem = nn.Sequential(nn.Conv3d(3, w, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                                  nn.BatchNorm3d(w), nn.ReLU(inplace=True))
        make = VideoResNet._make_layer
        self.layer1 = make(self, BasicBlock, Conv3DSimple, w, 2, stride=1)
        self.layer2 = make(self, BasicBlock, Conv3DNoTemporal, 2 * w, 2, stride=2)
        self.layer3 = make(self, BasicBlock, Conv3DNoTemporal, 4 * w, 2, stride=2)
        self.layer4 = make(self, BasicBlock, Conv3DNoTemporal, 8 * w, 2, stride=2)
        self.proj = nn.Linear(8 * w, dim)

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return F.normalize(self.proj(x.mean((2, 3, 4))), dim=1)


class VGG(nn.Module):
    """The audio net of lib/model/audio_net.cpp."""

    def __init__(self, w, dim=128):
        super().__init__()

        def stage(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True),
                                 nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True),
                                 nn.MaxPool2d(2, ceil_mode=True))
        self.features = nn.Sequential(stage(1, w), stage(w, 2 * w), stage(2 * w, 4 * w), stage(4 * w, 8 * w))
        self.proj = nn.Linear(8 * w, dim)

    def forward(self, x):
        return F.normalize(self.proj(self.features(x).mean((2, 3))), dim=1)


def decode_mono_16k(path):
    """The first audio stream of `path` decoded with PyAV, resampled to 16 kHz mono float32 (numpy)."""
    import av
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks = []
    with av.open(path) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def mel_spectrogram(center=False):
    """torchaudio's MelSpectrogram with avts's parameters (power spectrum, HTK mel scale, no norm).
    center=False is avts's framing (with log_mel's padding); bench/bench_train_media.py passes
    center=True, torchaudio's default (reflect-padded, centred frames), which it always used."""
    import torchaudio
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=N_FFT, win_length=WIN, hop_length=HOP, f_min=0.0,
        f_max=8000.0, n_mels=N_MELS, power=2.0, center=center, norm=None, mel_scale="htk")


def log_mel(mel, samples):
    """log(mel + 1e-6) of `samples` (... x n, a tensor) padded by (n_fft - win) / 2 zeros on each side,
    so that mel_spectrogram()'s center=False framing is ours: frame k = samples [k*hop, k*hop+win).
    Returns ... x n_mels x frames."""
    pad = (N_FFT - WIN) // 2
    return torch.log(mel(F.pad(samples, (pad, N_FFT - WIN - pad))) + LOG_OFFSET)
