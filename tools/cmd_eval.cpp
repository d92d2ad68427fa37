// avts eval MANIFEST: how good a model is, on clips recorded in sync.
//   sync classification  positives vs easy and vs hard negatives at the model's threshold
//                        (lib/eval/eval_sync_pairs.cpp), on the embeddings of the feature elements;
//   offset accuracy      the audio shifted inside the pipeline by each shift of a grid, the
//                        whole-clip estimate of avtssync against the truth (lib/eval/eval_offsets.cpp).
// Each clip is decoded once (eval_media.h); the shifted runs replay it (eval_replay.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "avts/error.h"
#include "avts/eval.h"
#include "avts/model.h"
#include "avts/sync.h"
#include "commands.h"
#include "eval_media.h"
#include "eval_replay.h"
#include "avts/manifest.h"
#include "options.h"

namespace avts {

namespace {

using nlohmann::json;

const std::vector<int> kDefaultShiftsMs = {-400, -200, -120, -80, -40, 0, 40, 80, 120, 200, 400};

std::vector<int> parse_shifts(const std::string& text) {
  if (text.empty()) return kDefaultShiftsMs;
  std::vector<int> shifts;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    int ms = 0;
    try {
      ms = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error("--shifts: '" + item + "' is not a whole number of ms");
    shifts.push_back(ms);
  }
  std::sort(shifts.begin(), shifts.end());
  shifts.erase(std::unique(shifts.begin(), shifts.end()), shifts.end());
  return shifts;
}

// "all", or the split a manifest entry must resolve to.
bool wanted(const std::string& split, const ManifestEntry& e) {
  return split == "all" || resolved_split(e.split, e.input) == (split == "train" ? Split::Train : Split::Validation);
}

double num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

struct Skipped {
  std::string input, reason;
};

json classification_json(const SyncClassification& c, const SyncPairOptions& o) {
  return {{"threshold", c.threshold},
          {"clips", c.clips},
          {"windows-per-clip", o.anchors_per_clip},
          {"hard-shift-s", {o.hard_shift_min_s, o.hard_shift_max_s}},
          {"positives", c.positives},
          {"easy-pairs", c.easy_pairs},
          {"hard-pairs", c.hard_pairs},
          {"accuracy-easy", c.accuracy_easy},
          {"auc-easy", c.auc_easy},
          {"accuracy-hard", c.accuracy_hard},
          {"auc-hard", c.auc_hard},
          {"mean-distance-positive", c.mean_distance_positive},
          {"mean-distance-easy", c.mean_distance_easy},
          {"mean-distance-hard", c.mean_distance_hard}};
}

// The video windows' hop the clips were embedded with (the element's default unless
// --video-hop), in ms; 0 when no clip has two windows.
double video_hop_ms(const std::vector<EvalClip>& clips) {
  for (const EvalClip& c : clips)
    if (c.video.size() >= 2) return static_cast<double>(c.video.times_ns[1] - c.video.times_ns[0]) / 1e6;
  return 0;
}

// What `avts eval` calibrates the minimum confidence for: answers right 95 % of the time.
constexpr double kTargetPrecision = 0.95;

double share_of(int part, int whole) { return whole > 0 ? double(part) / whole : std::nan(""); }

json answers_json(const AnswerStats& a) {
  return {{"min-confidence", a.min_confidence}, {"trials", a.trials},    {"answered", a.answered}, {"right", a.right},
          {"precision", a.precision},           {"coverage", a.coverage}};
}

json stats_json(const OffsetStats& s) {
  return {{"trials", s.trials},
          {"correct", s.correct},
          {"inconclusive", s.inconclusive},
          {"out-of-range", s.out_of_range},
          {"no-estimate", s.no_estimate},
          {"accuracy", s.accuracy},
          {"conclusive-accuracy", s.conclusive_accuracy},
          {"mean-abs-error-ms", s.mean_abs_error_ms},
          {"inconclusive-share", s.inconclusive_share}};
}

std::string fmt(double v, const char* format) {
  if (!std::isfinite(v)) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// Forced accuracy, and the answers a QC user gets at the minimum confidence used and at the
// one calibrated for 95 % right answers.
void print_answers(const AnswerStats& forced, const AnswerStats& used, const std::optional<AnswerStats>& calibrated) {
  std::printf("\nAnswers (right = in range and within the tolerance):\n");
  std::printf("  forced accuracy      %s  (%d of %d right when every trial is answered with its estimate)\n",
              fmt(share_of(forced.right, forced.trials), "%.3f").c_str(), forced.right, forced.trials);
  std::printf("  at min-confidence %.3f: %d answered (coverage %s), %d right (precision %s)\n", used.min_confidence,
              used.answered, fmt(used.coverage, "%.3f").c_str(), used.right, fmt(used.precision, "%.3f").c_str());
  if (calibrated)
    std::printf("  %.0f %% right needs min-confidence >= %.3f: %d answered (coverage %s), %d right (precision %s)\n",
                100 * kTargetPrecision, calibrated->min_confidence, calibrated->answered,
                fmt(calibrated->coverage, "%.3f").c_str(), calibrated->right,
                fmt(calibrated->precision, "%.3f").c_str());
  else
    std::printf("  no min-confidence gives %.0f %% right answers with 10 answers or more\n", 100 * kTargetPrecision);
}

void print_table(const json& r, const SyncClassification& c, const OffsetAccuracy& o, const AnswerStats& forced,
                 const AnswerStats& used, const std::optional<AnswerStats>& calibrated, double seconds) {
  const json& clips = r["clips"];
  std::printf("avts eval: %d clips evaluated, %d skipped (split %s), model %s (id %s)\n", clips["evaluated"].get<int>(),
              clips["skipped"].get<int>(), r["split"].get<std::string>().c_str(), r["model"].get<std::string>().c_str(),
              r["model-id"].get<std::string>().c_str());

  std::printf("\nSync classification: threshold %.4f (the model's), %d clips, seed %llu\n", c.threshold, c.clips,
              static_cast<unsigned long long>(r["seed"].get<uint64_t>()));
  std::printf("  %-44s %6s %9s %8s\n", "", "pairs", "accuracy", "ROC AUC");
  std::printf("  %-44s %6d %9s %8s\n", "positives vs easy negatives (other clip)", c.easy_pairs,
              fmt(c.accuracy_easy, "%.3f").c_str(), fmt(c.auc_easy, "%.3f").c_str());
  std::printf("  %-44s %6d %9s %8s\n", "positives vs hard negatives (shift 0.5-2.0 s)", c.hard_pairs,
              fmt(c.accuracy_hard, "%.3f").c_str(), fmt(c.auc_hard, "%.3f").c_str());
  std::printf("  (balanced: %d positives; mean distance positive %s, easy %s, hard %s)\n", c.positives,
              fmt(c.mean_distance_positive, "%.3f").c_str(), fmt(c.mean_distance_easy, "%.3f").c_str(),
              fmt(c.mean_distance_hard, "%.3f").c_str());

  const OffsetStats& s = o.overall;
  std::printf("\nOffset accuracy: %d trials (%zu shifts x %d clips), correct within %.0f ms (one video frame)\n",
              s.trials, o.shifts_ms.size(), clips["evaluated"].get<int>(), o.tolerance_ms);
  std::printf("  accuracy             %s  (%d of %d; inconclusive counts as not correct)\n",
              fmt(s.accuracy, "%.3f").c_str(), s.correct, s.trials);
  std::printf("  mean absolute error  %s ms  (over the %d conclusive trials)\n",
              fmt(s.mean_abs_error_ms, "%.1f").c_str(), s.trials - s.inconclusive);
  std::printf("  inconclusive         %s  (%d of %d)\n", fmt(s.inconclusive_share, "%.3f").c_str(), s.inconclusive,
              s.trials);
  if (s.no_estimate > 0)
    std::printf(
        "  no estimate          %d of the inconclusive: no window covers the offsets searched (clips shorter "
        "than the search with its shift)\n",
        s.no_estimate);
  std::printf("  conclusive accuracy  %s  (%d out of range)\n", fmt(s.conclusive_accuracy, "%.3f").c_str(),
              s.out_of_range);
  std::printf("\n  %8s %7s %8s %9s %9s %13s\n", "shift ms", "trials", "correct", "accuracy", "MAE ms", "inconclusive");
  for (size_t i = 0; i < o.shifts_ms.size(); ++i) {
    const OffsetStats& p = o.per_shift[i];
    std::printf("  %+8.0f %7d %8d %9s %9s %13s\n", o.shifts_ms[i], p.trials, p.correct, fmt(p.accuracy, "%.3f").c_str(),
                fmt(p.mean_abs_error_ms, "%.1f").c_str(), fmt(p.inconclusive_share, "%.3f").c_str());
  }
  print_answers(forced, used, calibrated);
  std::printf("\nSign: positive offset = audio early; a shift of +X ms moves the audio X ms earlier (truth +X ms).\n");
  std::printf("Time: %.1f s\n", seconds);
}

// The evaluated model, written to `out` with `calibrated`'s min-confidence; the provenance
// says where it was calibrated.
void save_calibrated_model(Model& model, const std::string& out, const std::optional<AnswerStats>& calibrated,
                           const std::string& manifest, const std::string& split) {
  if (!calibrated)
    throw Error("no min-confidence gives " + std::to_string(int(100 * kTargetPrecision)) +
                " % right answers with 10 answers or more on these clips: " + out + " not written");
  char text[160];
  std::snprintf(text, sizeof text, "%s (split %s): %d of %d trials answered, precision %.3f", manifest.c_str(),
                split.c_str(), calibrated->answered, calibrated->trials, calibrated->precision);
  model.set_min_confidence(calibrated->min_confidence, text);
  model.save(out);
  std::fprintf(stderr, "avts eval: wrote %s with min-confidence %.4f (id %s)\n", out.c_str(),
               calibrated->min_confidence, model.id().c_str());
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  gchar *model = nullptr, *split = nullptr, *device = nullptr, *shifts = nullptr, *precision = nullptr;
  gchar* save_calibrated = nullptr;
  gboolean as_json = FALSE, quiet = FALSE, face_track = FALSE;
  gint64 seed = 1;
  gint windows_per_clip = 4, max_offset = 0, video_hop = 0;
  gdouble min_confidence = -1;
  const GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the shipped model)", "MODEL"},
      {"split", 0, 0, G_OPTION_ARG_STRING, &split,
       "Manifest entries to evaluate: all (default), validation or train (untagged lines as the trainer "
       "splits them)",
       "SPLIT"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the negative pairs (default 1)", "N"},
      {"windows-per-clip", 0, 0, G_OPTION_ARG_INT, &windows_per_clip,
       "Video windows per clip, each with a positive, an easy and a hard negative (default 4)", "N"},
      {"shifts", 0, 0, G_OPTION_ARG_STRING, &shifts,
       "Audio shifts in ms, comma-separated, positive = audio earlier "
       "(default -400,-200,-120,-80,-40,0,40,80,120,200,400)",
       "LIST"},
      {"max-offset", 0, 0, G_OPTION_ARG_INT, &max_offset, "Largest offset searched (ms, default 600)", "MS"},
      {"video-hop", 0, 0, G_OPTION_ARG_INT, &video_hop,
       "Video window hop (ms, multiple of 40; default: one window per clip length), as avts sync --video-hop", "MS"},
      {"min-confidence", 0, 0, G_OPTION_ARG_DOUBLE, &min_confidence,
       "Below it an estimate is inconclusive (default: avtssync's)", "C"},
      {"face-track", 0, 0, G_OPTION_ARG_NONE, &face_track,
       "Find and follow faces (avtsfacetrack) and look at the mouth of the largest, as avts sync --face-track "
       "(always on for a model whose framing is face)",
       nullptr},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu (default), cuda or cuda:N", "DEV"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision,
       "float32 (default), bfloat16 autocast (also on the CPU), or float16 autocast (CUDA only)", "P"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print one JSON object with every number", nullptr},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress line", nullptr},
      {"save-calibrated", 0, 0, G_OPTION_ARG_FILENAME, &save_calibrated,
       "Write a copy of the model that carries the min-confidence calibrated here (answers right 95 % of the "
       "time); avtssync then uses it unless told otherwise. Calibrate on speakers the model never saw.",
       "MODEL"},
      {}};
  parse_options(argc, argv, "MANIFEST",
                "Evaluate a model on the clips of MANIFEST (one path or URI per line, optionally a split tag; the "
                "clips must be in sync as recorded). Sync classification: for each clip, video windows against the "
                "audio under them (positives), audio of another clip (easy negatives) and audio of the same clip "
                "0.5-2.0 s away (hard negatives), called in sync below the model's threshold: balanced accuracy and "
                "ROC AUC. Offset accuracy: the clip's audio shifted inside the pipeline (a timestamp offset of the "
                "audio stream, as avts sync --shift-audio) by each shift; avtssync's whole-clip estimate is correct "
                "within one video frame of the truth (+X ms for a shift of +X: positive = audio early). Each clip is "
                "decoded and its video embedded once; every shifted run sends the decoded audio through "
                "avtsaudiofeat into avtssync again. Clips that cannot be decoded are skipped and counted.",
                entries);
  std::string model_path = take_string(model), split_arg = take_string(split);
  const std::string calibrated_path = take_string(save_calibrated);
  const std::string dev = take_string(device), shifts_arg = take_string(shifts), prec = take_string(precision);
  if (argc != 2) throw Error("expected one manifest file");
  if (model_path.empty()) model_path = default_model_path();
  if (split_arg.empty()) split_arg = "all";
  if (split_arg == "val") split_arg = "validation";
  if (split_arg != "all" && split_arg != "train" && split_arg != "validation")
    throw Error("unknown split '" + split_arg + "' (known: all, train, validation)");
  if (seed < 0) throw Error("--seed must not be negative");
  if (windows_per_clip < 1) throw Error("--windows-per-clip must be at least 1");
  if (max_offset < 0) throw Error("--max-offset must be positive");
  if (video_hop < 0) throw Error("--video-hop must be positive");
  const std::vector<int> shift_grid = parse_shifts(shifts_arg);

  // The model first: a bad file is an error before any decoding.
  const std::shared_ptr<Model> loaded = Model::load(model_path, dev.empty() ? "cpu" : dev);
  if (!prec.empty()) loaded->set_precision(parse_precision(prec));  // so that a bad one is an error now
  const ModelConfig config = loaded->config();
  const double tolerance_ms = 1000.0 / config.video.fps;  // one video frame

  const Manifest manifest = read_manifest(argv[1]);
  std::vector<Skipped> skipped;
  for (const std::string& bad : manifest.bad_lines) {  // "LINE: why"
    std::fprintf(stderr, "avts eval: warning: skipping %s line %s\n", argv[1], bad.c_str());
    const size_t colon = std::min(bad.find(':'), bad.size());
    skipped.push_back(
        {std::string(argv[1]) + " line " + bad.substr(0, colon), bad.substr(std::min(colon + 2, bad.size()))});
  }
  std::vector<ManifestEntry> entries_in_split;
  for (const ManifestEntry& e : manifest.entries)
    if (wanted(split_arg, e)) entries_in_split.push_back(e);
  if (entries_in_split.empty())
    throw Error("manifest '" + std::string(argv[1]) + "' lists no media files" +
                (split_arg == "all" ? "" : " in the " + split_arg + " split"));

  ReplaySettings settings;
  settings.features = {model_path, dev, prec, video_hop, face_track || config.video.framing == "face"};
  settings.max_offset_ms = max_offset;
  settings.min_confidence = min_confidence;
  ShiftedSync sync(settings);

  const bool progress = !quiet && isatty(STDERR_FILENO);
  std::vector<EvalClip> clips;
  std::vector<OffsetTrial> trials;
  json trial_json = json::array();
  for (size_t i = 0; i < entries_in_split.size(); ++i) {
    const ManifestEntry& e = entries_in_split[i];
    if (progress) std::fprintf(stderr, "\r[%zu/%zu] %s\033[K", i + 1, entries_in_split.size(), e.input.c_str());
    try {
      DecodedClip clip = decode_clip(e.input, settings.features);
      std::vector<OffsetTrial> clip_trials;
      json clip_json = json::array();
      for (int shift : shift_grid) {
        const json s = sync.measure(clip, shift);
        OffsetTrial t;
        t.clip = e.input;
        t.shift_ms = shift;
        t.truth_ms = true_offset_ms(shift);
        t.estimate_ms = num(s, "offset-ms");
        t.conclusive = s.value("status", "inconclusive") != "inconclusive";
        t.out_of_range = s.value("out-of-range", false);
        t.confidence = num(s, "confidence");
        t.windows = s.value("windows", 0);
        clip_json.push_back({{"input", e.input},
                             {"shift-ms", shift},
                             {"truth-ms", t.truth_ms},
                             {"offset-ms", t.estimate_ms},
                             {"confidence", num(s, "confidence")},
                             {"status", s.value("status", "inconclusive")},
                             {"out-of-range", t.out_of_range},
                             {"windows", s.value("windows", 0)},
                             {"correct", offset_correct(t, tolerance_ms)}});
        // The evidence behind the estimate, for studies of the confidence measure.
        for (const char* key : {"curve-first-offset-ms", "curve-hop-ms", "curve", "window-minima"})
          if (s.contains(key)) clip_json.back()[key] = s[key];
        clip_trials.push_back(t);
      }
      clips.push_back(std::move(clip.embeddings));
      trials.insert(trials.end(), clip_trials.begin(), clip_trials.end());
      for (json& t : clip_json) trial_json.push_back(std::move(t));
    } catch (const Error& err) {
      if (progress) std::fprintf(stderr, "\n");
      std::fprintf(stderr, "avts eval: warning: skipping %s: %s\n", e.input.c_str(), err.what());
      skipped.push_back({e.input, err.what()});
    }
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  if (clips.empty()) throw Error("no clip of '" + std::string(argv[1]) + "' could be evaluated");

  SyncPairOptions pair_options;
  pair_options.seed = static_cast<uint64_t>(seed);
  pair_options.anchors_per_clip = windows_per_clip;
  const SyncClassification classification = classify_sync(draw_sync_pairs(clips, pair_options), config.threshold);
  const OffsetAccuracy offsets = summarize_offsets(trials, tolerance_ms);
  const AnswerStats forced = answers_at(trials, 0, tolerance_ms);
  const AnswerStats at_default = answers_at(trials, sync.min_confidence(), tolerance_ms);
  const std::optional<AnswerStats> calibrated = calibrate_min_confidence(trials, kTargetPrecision, tolerance_ms);

  json skipped_json = json::array();
  for (const Skipped& s : skipped) skipped_json.push_back({{"input", s.input}, {"reason", s.reason}});
  json per_shift = json::array();
  for (size_t i = 0; i < offsets.shifts_ms.size(); ++i) {
    json p = stats_json(offsets.per_shift[i]);
    p["shift-ms"] = offsets.shifts_ms[i];
    per_shift.push_back(std::move(p));
  }
  json offset_json = stats_json(offsets.overall);
  offset_json["tolerance-ms"] = tolerance_ms;
  offset_json["shifts-ms"] = shift_grid;
  offset_json["max-offset-ms"] = sync.max_offset_ms();
  offset_json["min-confidence"] = sync.min_confidence();
  offset_json["forced-accuracy"] = share_of(forced.right, forced.trials);
  offset_json["answers"] = answers_json(at_default);
  offset_json["calibrated"] = calibrated ? answers_json(*calibrated) : json(nullptr);
  offset_json["calibrated"]["target-precision"] = kTargetPrecision;
  offset_json["video-hop-ms"] = video_hop_ms(clips);
  offset_json["per-shift"] = std::move(per_shift);
  const json report = {{"manifest", argv[1]},
                       {"split", split_arg},
                       {"model", model_path},
                       {"model-id", loaded->id()},
                       {"preset", config.preset},
                       {"seed", static_cast<uint64_t>(seed)},
                       {"video-region", settings.features.face_track ? "face-track" : "model"},
                       {"sign", kSyncSign},
                       {"clips",
                        {{"listed", manifest.entries.size() + manifest.bad_lines.size()},
                         {"selected", entries_in_split.size()},
                         {"evaluated", clips.size()},
                         {"skipped", skipped.size()},
                         {"skipped-inputs", skipped_json}}},
                       {"sync-classification", classification_json(classification, pair_options)},
                       {"offset", offset_json},
                       {"trials", trial_json}};
  if (!calibrated_path.empty()) save_calibrated_model(*loaded, calibrated_path, calibrated, argv[1], split_arg);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (as_json) {
    std::printf("%s\n", report.dump(2).c_str());
    if (!quiet) std::fprintf(stderr, "avts eval: %zu clips in %.1f s\n", clips.size(), seconds);
  } else {
    print_table(report, classification, offsets, forced, at_default, calibrated, seconds);
  }
  return kExitOk;
}

}  // namespace avts
