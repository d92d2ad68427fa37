// Validation: the same pairs every epoch (validation_items), scored by the model in
// inference mode, and the numbers that choose the model's threshold.
#include <cmath>
#include <limits>

#include "train_internal.h"

namespace avts::train {

namespace {

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

}  // namespace

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

ValidationScores score_validation(const std::vector<ValidationItem>& items, const ModelConfig& c, torch::Device device,
                                  const EmbedBatch& embed, nets::FusionHeadImpl* fusion) {
  ValidationScores s;
  torch::NoGradGuard no_grad;
  const size_t batch = 16;
  for (size_t first = 0; first < items.size(); first += batch) {
    const size_t last = std::min(items.size(), first + batch);
    std::vector<torch::Tensor> videos, audios;
    std::vector<int64_t> video_of;  // for each audio clip, its video clip in this batch
    std::vector<int> kind;          // 0 positive, 1 easy, 2 hard
    const auto add_audio = [&](const StoredFile& f, int64_t start, int64_t v, int k) {
      audios.push_back(audio_clip(f, start, 0.0, c.audio.log_offset));
      video_of.push_back(v);
      kind.push_back(k);
    };
    for (size_t i = first; i < last; ++i) {
      const ValidationItem& it = items[i];
      const auto v = static_cast<int64_t>(videos.size());
      videos.push_back(video_cut(*it.file, centre_cut(*it.file, it.video_start, c.video.crop), c.video.crop));
      add_audio(*it.file, it.file->audio_start(it.video_start), v, 0);
      if (it.easy.file) add_audio(*it.easy.file, it.easy.start, v, 1);
      if (it.hard_start) add_audio(*it.file, *it.hard_start, v, 2);
    }
    const auto [ve, ae] =
        embed(normalise_video(torch::stack(videos).to(device), c.video), torch::stack(audios).to(device));
    const torch::Tensor vp = ve.index_select(0, torch::tensor(video_of).to(device));
    const torch::Tensor d = pair_distance(vp, ae);
    const torch::Tensor score = fusion ? torch::softmax(fusion->forward(vp, ae), 1).select(1, 0) : d;
    const std::vector<double> dv = to_vector(d), sv = to_vector(score);
    for (size_t j = 0; j < kind.size(); ++j) {
      (kind[j] == 0 ? s.d_pos : kind[j] == 1 ? s.d_easy : s.d_hard).push_back(dv[j]);
      (kind[j] == 0 ? s.s_pos : kind[j] == 1 ? s.s_easy : s.s_hard).push_back(sv[j]);
    }
  }
  return s;
}

ValidationReport validation_report(const ValidationScores& s, int clips, bool fusion_scores) {
  ValidationReport r;
  r.clips = clips;
  r.easy_pairs = static_cast<int>(s.d_easy.size());
  r.hard_pairs = static_cast<int>(s.d_hard.size());
  std::vector<double> d_neg = s.d_easy, s_neg = s.s_easy;
  d_neg.insert(d_neg.end(), s.d_hard.begin(), s.d_hard.end());
  s_neg.insert(s_neg.end(), s.s_hard.begin(), s.s_hard.end());
  r.threshold = fit_threshold(s.d_pos, d_neg);
  const double decision = fusion_scores ? fit_threshold(s.s_pos, s_neg) : r.threshold;
  r.accuracy_easy = balanced_accuracy(s.s_pos, s.s_easy, decision);
  r.accuracy_hard = balanced_accuracy(s.s_pos, s.s_hard, decision);
  r.auc_easy = roc_auc(s.s_pos, s.s_easy);
  r.auc_hard = roc_auc(s.s_pos, s.s_hard);
  r.mean_distance_positive = mean(s.d_pos);
  r.mean_distance_easy = mean(s.d_easy);
  r.mean_distance_hard = mean(s.d_hard);
  return r;
}

}  // namespace avts::train
