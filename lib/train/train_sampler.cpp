// What the trainer shows the networks: anchors (video clips), their positives (the audio
// under them) and negatives per the curriculum stage, easy (audio of another file) or hard
// (audio of the same file shifted); and the fixed validation pairs.
#include <algorithm>
#include <cmath>

#include "avts/error.h"
#include "train_internal.h"

namespace avts::train {

Rng seeded_rng(std::initializer_list<uint64_t> values) {
  std::vector<uint32_t> words;
  for (uint64_t v : values) {
    words.push_back(static_cast<uint32_t>(v));
    words.push_back(static_cast<uint32_t>(v >> 32));
  }
  std::seed_seq seq(words.begin(), words.end());
  return Rng(seq);
}

uint64_t id_hash(const std::string& id) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int64_t seconds_to_audio_frames(double seconds, const ModelConfig& config) {
  return static_cast<int64_t>(std::llround(seconds * config.audio.sample_rate / config.audio.hop_length));
}

Stage stage_for_epoch(const TrainOptions& options, const ModelConfig& config, int epoch) {
  int number = 2;
  switch (options.curriculum) {
    case Curriculum::EasyOnly:
      number = 1;
      break;
    case Curriculum::None:
      number = 2;
      break;
    case Curriculum::Paper:
      number = epoch < options.easy_epochs ? 1 : 2;
      break;
    case Curriculum::PaperFine:
      number = epoch < options.easy_epochs ? 1 : epoch < options.easy_epochs + options.mixed_epochs ? 2 : 3;
      break;
  }
  const bool fine = number == 3;
  Stage s;
  s.number = number;
  s.hard_fraction = number == 1 ? 0.0 : options.hard_fraction;
  // A shift of zero would be a positive: at least one log-mel frame.
  s.shift_min =
      std::max<int64_t>(1, seconds_to_audio_frames(fine ? options.fine_shift_min_s : options.hard_shift_min_s, config));
  s.shift_max = std::max<int64_t>(
      s.shift_min, seconds_to_audio_frames(fine ? options.fine_shift_max_s : options.hard_shift_max_s, config));
  return s;
}

int64_t anchor_slots(const StoredFile& file) {
  const int64_t starts = file.clip_starts();
  return starts == 0 ? 0 : std::max<int64_t>(1, starts / file.video_clip);
}

int64_t draw_anchor_start(const StoredFile& file, int64_t slot, Rng& rng) {
  const int64_t slots = anchor_slots(file);
  if (slot < 0 || slot >= slots) throw Error("anchor slot out of range");
  // Slot k covers the starts [k L, (k + 1) L); the last one also takes the remainder.
  const int64_t first = slot * file.video_clip;
  const int64_t last = slot == slots - 1 ? file.clip_starts() - 1 : first + file.video_clip - 1;
  return std::uniform_int_distribution<int64_t>(first, last)(rng);
}

std::optional<int64_t> draw_hard_shift(const StoredFile& file, int64_t audio_start, int64_t shift_min,
                                       int64_t shift_max, Rng& rng) {
  const int64_t last_start = file.audio_starts() - 1;
  // Shifts back: [-shift_max, -shift_min] not before the file's start; forward:
  // [shift_min, shift_max] not past its last clip start.
  const int64_t back_first = std::max(-shift_max, -audio_start);
  const int64_t back = std::max<int64_t>(0, -shift_min - back_first + 1);
  const int64_t forward_last = std::min(shift_max, last_start - audio_start);
  const int64_t forward = std::max<int64_t>(0, forward_last - shift_min + 1);
  if (back + forward == 0) return std::nullopt;
  const int64_t u = std::uniform_int_distribution<int64_t>(0, back + forward - 1)(rng);
  return u < back ? back_first + u : shift_min + (u - back);
}

AudioRef draw_easy(const std::vector<std::shared_ptr<const StoredFile>>& bank, const StoredFile& anchor, Rng& rng) {
  const auto usable = [&](const std::shared_ptr<const StoredFile>& f) {
    return f->id != anchor.id && f->audio_starts() > 0;
  };
  const auto n = std::count_if(bank.begin(), bank.end(), usable);
  if (n == 0)
    throw Error("easy negatives need audio from a second training file, but only '" + anchor.id + "' is there");
  auto k = std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
  for (const auto& f : bank) {
    if (!usable(f) || k-- > 0) continue;
    return {f, std::uniform_int_distribution<int64_t>(0, f->audio_starts() - 1)(rng)};
  }
  throw Error("unreachable");
}

Sample draw_sample(const Stage& stage, std::shared_ptr<const StoredFile> file, int64_t video_start,
                   const std::vector<std::shared_ptr<const StoredFile>>& bank, Rng& rng) {
  Sample s;
  s.video_start = video_start;
  if (stage.hard_fraction > 0 && std::bernoulli_distribution(stage.hard_fraction)(rng)) {
    const int64_t audio_start = file->audio_start(video_start);
    if (auto shift = draw_hard_shift(*file, audio_start, stage.shift_min, stage.shift_max, rng)) {
      s.kind = NegativeKind::Hard;
      s.negative = {file, audio_start + *shift};
      s.file = std::move(file);
      return s;
    }
    s.hard_fallback = true;
  }
  s.kind = NegativeKind::Easy;
  s.negative = draw_easy(bank, *file, rng);
  s.file = std::move(file);
  return s;
}

std::vector<ValidationItem> validation_items(std::vector<std::shared_ptr<const StoredFile>> files,
                                             const TrainOptions& options, const ModelConfig& config) {
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
  // Hard negatives of the paper's range, whatever the training stage.
  TrainOptions paper = options;
  paper.curriculum = Curriculum::None;
  const Stage hard = stage_for_epoch(paper, config, 0);

  std::vector<ValidationItem> items;
  for (const auto& file : files) {
    const int64_t starts = file->clip_starts();
    if (starts == 0) continue;
    Rng rng = seeded_rng({options.seed, id_hash(file->id), 0x76616c});  // "val"
    // Clips spread evenly over the file.
    const int64_t k = std::min<int64_t>(options.validation_clips_per_file, anchor_slots(*file));
    for (int64_t m = 0; m < k; ++m) {
      ValidationItem item;
      item.file = file;
      item.video_start = k == 1 ? (starts - 1) / 2 : m * (starts - 1) / (k - 1);
      const bool has_other = std::any_of(files.begin(), files.end(),
                                         [&](const auto& f) { return f->id != file->id && f->audio_starts() > 0; });
      if (has_other) item.easy = draw_easy(files, *file, rng);
      if (auto shift = draw_hard_shift(*file, file->audio_start(item.video_start), hard.shift_min, hard.shift_max, rng))
        item.hard_start = file->audio_start(item.video_start) + *shift;
      items.push_back(std::move(item));
    }
  }
  return items;
}

}  // namespace avts::train

namespace avts {

bool auto_is_validation(const std::string& id, double validation_fraction) {
  // The top 53 bits of the hash as a uniform number in [0, 1).
  return static_cast<double>(train::id_hash(id) >> 11) * 0x1.0p-53 < validation_fraction;
}

}  // namespace avts
