// Training media: a decoded file collected (TrainingFile), stored for sampling (StoredFile:
// log-mel frames and resized video frames on one time axis) and cut into clip tensors with
// the training augmentations (random crop, flip, zoom, drift and blur; audio gain and noise).
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "avts/error.h"
#include "avts/logmel.h"
#include "media_timeline.h"
#include "train_internal.h"
#include "video_resample.h"

namespace avts {

namespace {

using timeline::kSecondNs;
using timeline::kToleranceNs;

// Forward jumps of the same size in both streams, this far apart at most, are one jump of the
// container's clock, not missing media (GStreamer's MPEG-PS demuxer stamps GRID's .mpg files
// with a 236 ms jump, at 1.75 s in the audio and 1.84 s in the video, over continuous content).
constexpr int64_t kClockJumpSizeToleranceNs = 2'000'000;
constexpr int64_t kClockJumpDistanceNs = kSecondNs;

}  // namespace

struct TrainingFile::Impl {
  Impl(const ModelConfig& c, std::string i, Split s) : config(c), id(std::move(i)), split(s) { config.validate(); }

  int64_t samples_to_ns(int64_t n) const { return timeline::samples_to_ns(n, config.audio.sample_rate); }
  int64_t ns_to_samples(int64_t ns) const { return timeline::ns_to_samples(ns, config.audio.sample_rate); }
  // Time of model frame j.
  int64_t grid_time(int64_t j) const { return timeline::frame_offset_ns(grid_first + j, config.video.fps); }

  void push_audio(int64_t pts, const float* samples, size_t n) {
    if (n == 0) return;
    if (!have_audio) {
      have_audio = true;
      audio_pts0 = pts;
    } else {
      const int64_t gap = pts - (audio_pts0 + samples_to_ns(static_cast<int64_t>(audio.size())));
      if (gap > kToleranceNs) {
        audio_jumps.push_back({pts, gap, static_cast<int64_t>(audio.size())});
        audio.resize(audio.size() + static_cast<size_t>(ns_to_samples(gap)), 0.0f);
      } else if (gap < -kToleranceNs) {
        const size_t overlap = std::min<size_t>(n, static_cast<size_t>(ns_to_samples(-gap)));
        samples += overlap;
        n -= overlap;
      }
    }
    audio.insert(audio.end(), samples, samples + n);
  }

  // The model's region of the picture, its short side to `resize` as the inference front end
  // (torchvision's Resize(int)), with antialiased bilinear filtering (the front end's own taps,
  // in plain C++: torch's interpolate on one frame at a time cost the training thread ~0.7 ms a
  // frame); the first frame fixes the size for the whole file. `frame_region` replaces the
  // model's region for this frame (a face's mouth: a square, so every such frame has one size;
  // a frame of another shape is stretched to the file's size).
  torch::Tensor resize(const RgbImage& image, const FrameRegion* frame_region) {
    if (!image.data || image.width <= 0 || image.height <= 0)
      throw Error("training file '" + id + "': empty video frame");
    if (image.stride < 3 * image.width)
      throw Error("training file '" + id + "': video frame stride shorter than a row of RGB pixels");
    VideoFrontEndConfig framed = config.video;
    if (frame_region) framed.region = *frame_region;
    const PixelRect region = region_pixels(framed, image.width, image.height);
    if (out_h == 0) {
      const PixelSize size = resized_size(region, config.video.resize);
      out_w = size.width;
      out_h = size.height;
    }
    torch::Tensor out = torch::empty({out_h, out_w, 3}, torch::kUInt8);
    if (region.height == out_h && region.width == out_w) {  // already scaled upstream
      for (int y = 0; y < out_h; ++y)
        std::memcpy(out.data_ptr<uint8_t>() + static_cast<size_t>(y) * out_w * 3,
                    image.data + static_cast<size_t>(region.y + y) * image.stride + 3 * static_cast<size_t>(region.x),
                    3 * static_cast<size_t>(out_w));
      return out;
    }
    resize_rgb(image.data, image.stride, region, out_w, out_h, out.data_ptr<uint8_t>());
    return out;
  }

  // Model frames whose time has come before `pts` show the frame held until now.
  void emit_held_frame_until(int64_t pts) {
    while (timeline::shows_held_frame(grid_time(static_cast<int64_t>(frames.size())), pts)) frames.push_back(held);
  }

  void push_video(int64_t pts, const RgbImage& image, int64_t duration, const FrameRegion* region) {
    if (!have_video) {
      have_video = true;
      grid_first = timeline::first_frame_index_at_or_after(pts, config.video.fps);
    } else {
      if (pts < held_pts) return;  // goes back: not part of this file's timeline
      const int64_t excess = held_spacing > 0 ? pts - held_pts - held_spacing : 0;
      if (excess > std::max(kToleranceNs, held_spacing / 2)) {  // not jitter: a jump
        // Remember which of the frames held over the jump stand for it, should it turn out to
        // be a clock jump (close_clock_jumps): those beyond where the usual spacing would end.
        int64_t usual_end = static_cast<int64_t>(frames.size());
        while (timeline::shows_held_frame(grid_time(usual_end), pts - excess)) ++usual_end;
        emit_held_frame_until(pts);
        const int64_t filler = std::max<int64_t>(0, static_cast<int64_t>(frames.size()) - usual_end);
        video_jumps.push_back({pts, excess, usual_end, filler});
      } else {
        emit_held_frame_until(pts);
        held_spacing = pts - held_pts;
      }
    }
    held = resize(image, region);
    held_pts = pts;
    held_duration = duration;
  }

  // A forward jump of the same size in both streams is the container's clock jumping over
  // continuous content: take out the video frames held over it and as much audio (silence
  // first), so that both streams run on unbroken and stay aligned to each other. A jump in
  // one stream alone is missing media and stays filled.
  void close_clock_jumps() {
    struct Cut {
      int64_t at, count;
    };
    std::vector<Cut> frame_cuts, sample_cuts;
    size_t next_video = 0;
    for (const AudioJump& a : audio_jumps) {
      for (size_t v = next_video; v < video_jumps.size(); ++v) {
        const VideoJump& j = video_jumps[v];
        if (std::llabs(j.size - a.size) > kClockJumpSizeToleranceNs || std::llabs(j.pts - a.pts) > kClockJumpDistanceNs)
          continue;
        // The same duration out of each: the video's whole frames, in samples.
        const int64_t samples = ns_to_samples(timeline::frame_offset_ns(j.filler, config.video.fps));
        frame_cuts.push_back({j.first_filler, j.filler});
        sample_cuts.push_back({a.first_filler, samples});
        next_video = v + 1;
        break;
      }
    }
    // Latest first, so that earlier positions stay valid.
    for (auto c = frame_cuts.rbegin(); c != frame_cuts.rend(); ++c)
      frames.erase(frames.begin() + c->at,
                   frames.begin() + std::min<int64_t>(c->at + c->count, static_cast<int64_t>(frames.size())));
    for (auto c = sample_cuts.rbegin(); c != sample_cuts.rend(); ++c) {
      const int64_t end = std::min<int64_t>(c->at + c->count, static_cast<int64_t>(audio.size()));
      if (c->at < end) audio.erase(audio.begin() + c->at, audio.begin() + end);
    }
    audio_jumps.clear();
    video_jumps.clear();
  }

  // The last frame lasts until its end.
  void finish_video() {
    if (!have_video || finished) return;
    finished = true;
    emit_held_frame_until(timeline::last_frame_end_ns(held_pts, held_duration, held_spacing, config.video.fps));
  }

  ModelConfig config;
  std::string id;
  Split split;

  bool have_audio = false;
  int64_t audio_pts0 = 0;
  std::vector<float> audio;

  // Forward jumps seen, filled for now: silence in the audio, the held frame in the video.
  struct AudioJump {
    int64_t pts, size, first_filler;  // first_filler: index of the first silent sample
  };
  struct VideoJump {
    int64_t pts, size, first_filler, filler;  // model frames that stand for the jump
  };
  std::vector<AudioJump> audio_jumps;
  std::vector<VideoJump> video_jumps;

  bool have_video = false;
  bool finished = false;
  int64_t grid_first = 0;  // model frame 0 of the file is model frame grid_first of the timestamp axis
  int64_t out_h = 0, out_w = 0;
  torch::Tensor held;  // latest input frame, resized
  int64_t held_pts = 0, held_spacing = 0, held_duration = -1;
  std::vector<torch::Tensor> frames;  // model-rate frames, H x W x 3 uint8
};

TrainingFile::TrainingFile(const ModelConfig& config, std::string id, Split split)
    : impl_(std::make_unique<Impl>(config, std::move(id), split)) {}
TrainingFile::~TrainingFile() = default;
TrainingFile::TrainingFile(TrainingFile&&) noexcept = default;
TrainingFile& TrainingFile::operator=(TrainingFile&&) noexcept = default;

TrainingFile TrainingFile::copy() const {
  TrainingFile out(impl_->config, impl_->id, impl_->split);
  *out.impl_ = *impl_;  // frames are never changed in place, so sharing their storage is safe
  return out;
}

size_t TrainingFile::bytes() const {
  size_t n = impl_->audio.size() * sizeof(float);
  for (const torch::Tensor& f : impl_->frames) n += static_cast<size_t>(f.nbytes());
  return n;
}

const std::string& TrainingFile::id() const { return impl_->id; }
Split TrainingFile::split() const { return impl_->split; }

void TrainingFile::push_audio(int64_t pts_ns, const float* samples, size_t n) { impl_->push_audio(pts_ns, samples, n); }

void TrainingFile::push_video(int64_t pts_ns, const RgbImage& frame, int64_t duration_ns, const FrameRegion* region) {
  if (impl_->finished) throw Error("training file '" + impl_->id + "' was already stored");
  impl_->push_video(pts_ns, frame, duration_ns, region);
}

double TrainingFile::audio_seconds() const {
  return static_cast<double>(impl_->audio.size()) / impl_->config.audio.sample_rate;
}

int TrainingFile::video_frames() const { return static_cast<int>(impl_->frames.size()); }

namespace train {

int64_t StoredFile::audio_start(int64_t video_start) const {
  return static_cast<int64_t>(std::llround(static_cast<double>(video_start) * audio_per_video));
}

int64_t StoredFile::clip_starts() const {
  // The largest j with j + video_clip <= V and audio_start(j) + audio_clip <= A, plus one.
  int64_t n = std::min(video_frames() - video_clip,
                       static_cast<int64_t>(std::floor((audio_frames() - audio_clip) / audio_per_video)) + 1) +
              1;
  while (n > 0 && audio_start(n - 1) + audio_clip > audio_frames()) --n;
  return std::max<int64_t>(0, n);
}

std::shared_ptr<const StoredFile> store(TrainingFile&& file, const ModelConfig& config) {
  TrainingFile::Impl& in = file.impl();
  if (in.config.audio.sample_rate != config.audio.sample_rate || in.config.video.fps != config.video.fps ||
      in.config.video.resize != config.video.resize || in.config.video.region != config.video.region)
    throw Error("training file '" + in.id +
                "' was prepared for another front end (sample rate, fps, region or resize) than the model's");
  if (!in.have_audio) throw Error("training file '" + in.id + "' has no audio");
  if (!in.have_video) throw Error("training file '" + in.id + "' has no video");
  in.finish_video();
  in.close_clock_jumps();

  // Common start: the first model frame at or after the first audio sample.
  int64_t j0 = 0;
  while (in.grid_time(j0) < in.audio_pts0) ++j0;
  const int64_t s0 = in.ns_to_samples(in.grid_time(j0) - in.audio_pts0);

  auto out = std::make_shared<StoredFile>();
  out->id = in.id;
  out->video_clip = config.video_frames_per_clip();
  out->audio_clip = config.audio_frames_per_clip();
  out->audio_per_video = config.audio.sample_rate / (config.video.fps * config.audio.hop_length);

  const int64_t n_video = std::max<int64_t>(0, static_cast<int64_t>(in.frames.size()) - j0);
  out->video = n_video > 0 ? torch::stack(std::vector<torch::Tensor>(in.frames.begin() + j0, in.frames.end()))
                           : torch::empty({0, in.out_h, in.out_w, 3}, torch::kUInt8);
  in.frames.clear();

  // Log-mel frames as the audio featurizer computes them: the end padded with zeros for the
  // last frames' lookahead.
  const AudioFrontEndConfig& a = config.audio;
  std::vector<float> frames;
  if (s0 < static_cast<int64_t>(in.audio.size())) {
    LogMel logmel(a);
    logmel.push(in.audio.data() + s0, in.audio.size() - static_cast<size_t>(s0), frames);
    const std::vector<float> pad(static_cast<size_t>(std::max(0, a.win_length - a.hop_length)), 0.0f);
    logmel.push(pad.data(), pad.size(), frames);
  }
  in.audio = {};
  const int64_t n_audio = static_cast<int64_t>(frames.size()) / a.n_mels;
  out->logmel = torch::from_blob(frames.data(), {n_audio, a.n_mels}, torch::kFloat32).clone();
  return out;
}

VideoCut centre_cut(const StoredFile& file, int64_t start, int crop) {
  VideoCut cut;
  cut.start = start;
  cut.y = centre_offset(static_cast<int>(file.video.size(1)) - crop);
  cut.x = centre_offset(static_cast<int>(file.video.size(2)) - crop);
  cut.side = crop;
  return cut;
}

VideoCut random_cut(const StoredFile& file, int64_t start, int crop, const CutAugmentation& aug, Rng& rng) {
  int64_t side = crop;
  if (aug.max_zoom > 1.0) {
    const double zoom = std::exp(std::uniform_real_distribution<double>(0.0, std::log(aug.max_zoom))(rng));
    side = std::max<int64_t>(1, std::lround(crop / zoom));
  }
  // The drift moves the square by (dy, dx) each frame: it must stay inside the frame throughout.
  const int64_t steps = std::max<int64_t>(1, file.video_clip - 1);
  auto draw_drift = [&](int64_t room) {
    const int64_t most = std::min<int64_t>(aug.max_drift, room / steps);
    return std::uniform_int_distribution<int64_t>(-most, most)(rng);
  };
  const int64_t room_y = file.video.size(1) - side, room_x = file.video.size(2) - side;
  const int64_t dy = aug.max_drift > 0 ? draw_drift(room_y) : 0, dx = aug.max_drift > 0 ? draw_drift(room_x) : 0;
  auto draw_place = [&](int64_t room, int64_t d) {
    const int64_t travel = d * steps;
    return std::uniform_int_distribution<int64_t>(std::max<int64_t>(0, -travel),
                                                  room - std::max<int64_t>(0, travel))(rng);
  };
  VideoCut cut;
  cut.start = start;
  cut.y = draw_place(room_y, dy);
  cut.x = draw_place(room_x, dx);
  cut.side = side;
  cut.dy = dy;
  cut.dx = dx;
  if (aug.flip) cut.flip = std::bernoulli_distribution(0.5)(rng);
  return cut;
}

torch::Tensor video_cut(const StoredFile& file, const VideoCut& cut, int crop) {
  const int64_t side = cut.side > 0 ? cut.side : crop;
  torch::Tensor x;
  if (cut.dy == 0 && cut.dx == 0) {
    x = file.video.narrow(0, cut.start, file.video_clip).narrow(1, cut.y, side).narrow(2, cut.x, side);
  } else {
    std::vector<torch::Tensor> frames;
    for (int64_t t = 0; t < file.video_clip; ++t)
      frames.push_back(
          file.video[cut.start + t].narrow(0, cut.y + t * cut.dy, side).narrow(1, cut.x + t * cut.dx, side));
    x = torch::stack(frames);
  }
  if (side != crop) {
    namespace F = torch::nn::functional;
    const torch::Tensor planes = x.permute({0, 3, 1, 2}).to(torch::kFloat32);  // T x C x side x side
    x = F::interpolate(planes, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{crop, crop})
                                   .mode(torch::kBilinear)
                                   .align_corners(false))
            .round()
            .clamp(0, 255)
            .to(torch::kUInt8)
            .permute({0, 2, 3, 1});
  }
  return cut.flip ? x.flip({2}).contiguous() : x.contiguous();
}

torch::Tensor normalise_video(const torch::Tensor& cuts, const VideoFrontEndConfig& config) {
  const torch::Tensor mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}).to(cuts.device()) * 255.0f;
  const torch::Tensor std = torch::tensor({config.std[0], config.std[1], config.std[2]}).to(cuts.device()) * 255.0f;
  // N x T x H x W x C -> N x C x T x H x W. On a GPU the channels stay innermost in memory
  // (ChannelsLast3d): cuDNN's fastest layout for 3D convolutions on tensor cores.
  const torch::Tensor x = ((cuts.to(torch::kFloat32) - mean) / std).permute({0, 4, 1, 2, 3});
  return cuts.is_cuda() ? x : x.contiguous();
}

torch::Tensor video_clip(const StoredFile& file, const VideoCut& cut, const VideoFrontEndConfig& config) {
  return normalise_video(video_cut(file, cut, config.crop).unsqueeze(0), config).squeeze(0);
}

torch::Tensor audio_clip(const StoredFile& file, int64_t start, double gain_db, double log_offset) {
  torch::Tensor x = file.logmel.narrow(0, start, file.audio_clip);
  if (gain_db != 0.0) {
    const double power_gain = std::pow(10.0, gain_db / 10.0);
    x = torch::log((torch::exp(x) - log_offset).clamp_min(0) * power_gain + log_offset);
  }
  return x.t().unsqueeze(0).contiguous();  // T x mels -> 1 x mels x T
}

torch::Tensor blur_cut(const torch::Tensor& cut, double sigma) {
  if (sigma <= 0) return cut;
  const int64_t radius = std::max<int64_t>(1, std::lround(2.5 * sigma));
  const torch::Tensor taps = torch::arange(-radius, radius + 1, torch::kFloat32);
  torch::Tensor kernel = torch::exp(-taps * taps / (2 * sigma * sigma));
  kernel = kernel / kernel.sum();
  namespace F = torch::nn::functional;
  const int64_t channels = cut.size(3);
  // Separable: a row pass and a column pass, each channel on its own; the border repeated.
  torch::Tensor x = cut.permute({0, 3, 1, 2}).to(torch::kFloat32);  // T x C x H x W
  const auto pass = [&](const torch::Tensor& in, const torch::Tensor& k, std::vector<int64_t> pad) {
    return F::conv2d(F::pad(in, F::PadFuncOptions(pad).mode(torch::kReplicate)), k.repeat({channels, 1, 1, 1}),
                     F::Conv2dFuncOptions().groups(channels));
  };
  x = pass(x, kernel.view({1, 1, 1, -1}), {radius, radius, 0, 0});
  x = pass(x, kernel.view({1, 1, -1, 1}), {0, 0, radius, radius});
  return x.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

torch::Tensor add_noise(const torch::Tensor& clip, double snr_db, double log_offset, Rng& rng) {
  const torch::Tensor power = (torch::exp(clip) - log_offset).clamp_min(0);
  const int64_t mels = clip.size(1), frames = clip.size(2);
  const double level = power.mean().item<double>() * std::pow(10.0, -snr_db / 10.0);
  // Up to a tenfold tilt from the lowest band to the highest, either way, mean 1 over the bands.
  const double tilt = std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
  std::vector<double> shape(mels);
  for (int64_t b = 0; b < mels; ++b)
    shape[b] = std::pow(10.0, tilt * (static_cast<double>(b) / std::max<int64_t>(1, mels - 1) - 0.5));
  const double mean_shape = std::accumulate(shape.begin(), shape.end(), 0.0) / static_cast<double>(mels);
  // A mel band sums several FFT bins of noise: its power fluctuates less than one bin's.
  std::gamma_distribution<double> fluctuation(4.0, 0.25);
  std::vector<float> noise(static_cast<size_t>(mels * frames));
  for (int64_t b = 0; b < mels; ++b)
    for (int64_t t = 0; t < frames; ++t)
      noise[static_cast<size_t>(b * frames + t)] = static_cast<float>(level * shape[b] / mean_shape * fluctuation(rng));
  const torch::Tensor n = torch::from_blob(noise.data(), {1, mels, frames}, torch::kFloat32).clone();
  return torch::log(power + n + log_offset);
}

}  // namespace train

}  // namespace avts
