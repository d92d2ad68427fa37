// avts probe MANIFEST --model M: linear-probe evaluation of frozen features. Each labelled
// clip goes through the project's feature elements, its rows are pooled into one vector,
// and a linear SVM is scored by k-fold cross-validation, per layer and per network.
#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "avts/error.h"
#include "avts/model.h"
#include "commands.h"
#include "options.h"
#include "probe_features.h"
#include "probe_manifest.h"
#include "probe_svm.h"

namespace avts {

namespace {

// A network whose features are probed: the model itself, or the random-init baseline.
struct Network {
  std::string name;  // "model" / "random-init"
  std::string path;
  std::string id;
  std::string description;
  int64_t seed;  // of a random-init network; -1 for the model
};

// One table row: a network's layer, scored.
struct ProbeRow {
  const Network* network;
  std::string layer;
  int dim;
  ProbeScore score;
};

std::vector<std::string> parse_layers(const std::string& text) {
  const std::vector<std::string> known = Model::layer_names();
  if (text.empty()) return {"embedding"};
  if (text == "all") return known;
  std::vector<std::string> layers;
  std::istringstream in(text);
  for (std::string layer; std::getline(in, layer, ',');) {
    if (std::find(known.begin(), known.end(), layer) == known.end()) {
      std::string names;
      for (const auto& k : known) names += " " + k;
      throw Error("unknown layer '" + layer + "' (known:" + names + ", or all)");
    }
    if (std::find(layers.begin(), layers.end(), layer) == layers.end()) layers.push_back(layer);
  }
  return layers;
}

// The seed a model's weights were first drawn from: the trainer records it as "seed";
// avts init only in its command line ("created-by"), where no --seed means 0.
uint64_t init_seed(const ModelConfig& config) {
  const auto& prov = config.provenance;
  std::string value;
  if (prov.count("seed")) value = prov.at("seed");
  std::istringstream words(prov.count("created-by") ? prov.at("created-by") : "");
  for (std::string w; value.empty() && words >> w;) {
    if (w == "--seed")
      words >> value;
    else if (w.rfind("--seed=", 0) == 0)
      value = w.substr(7);
  }
  try {
    return value.empty() ? 0 : std::stoull(value);
  } catch (const std::exception&) {
    throw Error("the model's provenance gives the seed '" + value + "', not a number: give --init-seed");
  }
}

// The random-init baseline: the model's preset and seed, freshly initialised, in a temporary file.
class RandomInitFile {
 public:
  RandomInitFile(const Model& model, uint64_t seed) {
    ModelConfig config = model.config();
    config.provenance = {{"created-by", "avts probe --random-init (seed " + std::to_string(seed) + ")"},
                         {"trained", "no"}};
    const auto fresh = Model::create(config, seed);
    id_ = fresh->id();
    GError* err = nullptr;
    gchar* dir = g_dir_make_tmp("avts-probe-XXXXXX", &err);
    if (!dir) {
      const std::string why = err->message;
      g_clear_error(&err);
      throw Error("cannot make a temporary folder for the random-init model: " + why);
    }
    dir_ = dir;
    g_free(dir);
    path_ = dir_ + "/random-init.avts";
    try {
      fresh->save(path_);
    } catch (...) {
      g_rmdir(dir_.c_str());
      throw;
    }
  }
  ~RandomInitFile() {
    g_remove(path_.c_str());
    g_rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }

 private:
  std::string dir_, path_, id_;
};

void progress(const std::string& what, size_t done, size_t total) {
  if (!isatty(STDERR_FILENO)) return;
  std::fprintf(stderr, "\r%s: %zu/%zu clips%s", what.c_str(), done, total, done == total ? "\n" : "");
  std::fflush(stderr);
}

std::string percent(double accuracy) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f", 100.0 * accuracy);
  return text;
}

// The labelled clips as the probe sees them: class ids and folds.
struct ProbeTask {
  std::string source;       // the manifest, or the ESC-50 folder
  std::string fold_source;  // "manifest", "esc50" or "stratified"
  std::vector<LabelledClip> clips;
  std::map<std::string, int> class_sizes;  // label -> clips
  std::vector<int> labels;                 // each clip's class: the label's rank in sorted order
  std::vector<int> folds;                  // each clip's fold

  double majority() const {  // chance: the share of the largest class
    int largest = 0;
    for (const auto& [label, size] : class_sizes) largest = std::max(largest, size);
    return static_cast<double>(largest) / static_cast<double>(clips.size());
  }
};

ProbeTask make_task(const std::string& manifest, const std::string& esc50, const std::string& root, int folds_arg,
                    uint64_t seed) {
  ProbeTask task;
  task.source = esc50.empty() ? manifest : esc50;
  task.clips = esc50.empty() ? read_probe_manifest(manifest, root) : read_esc50(esc50);
  for (const auto& c : task.clips) ++task.class_sizes[c.label];
  if (task.class_sizes.size() < 2)
    throw Error(task.source + ": all clips have the label '" + task.clips.front().label +
                "': a probe needs at least 2 classes");
  std::map<std::string, int> class_ids;
  for (const auto& [label, size] : task.class_sizes) {
    class_ids.emplace(label, static_cast<int>(class_ids.size()));
    if (size == 1)
      std::fprintf(stderr,
                   "avts probe: warning: class '%s' has one example: the fold that tests it has none "
                   "to train on, so it counts as an error\n",
                   label.c_str());
  }
  for (const auto& c : task.clips) task.labels.push_back(class_ids.at(c.label));

  if (task.clips.front().fold > 0) {
    if (folds_arg > 0)
      throw Error(task.source + " gives each clip's fold: --folds applies only to manifests without a fold column");
    task.fold_source = esc50.empty() ? "manifest" : "esc50";
    for (const auto& c : task.clips) task.folds.push_back(c.fold);
  } else {
    task.fold_source = "stratified";
    task.folds = stratified_folds(task.labels, folds_arg > 0 ? folds_arg : 5, seed);
  }
  return task;
}

// Features of every clip through `network`, then one cross-validated SVM per layer.
std::vector<ProbeRow> probe_network(const Network& network, const ProbeTask& task, ClipFeatureOptions features,
                                    const SvmOptions& svm) {
  features.model_path = network.path;
  const std::string what = "avts probe: " + network.name + " features";
  std::vector<ProbeData> data(features.layers.size());
  for (size_t i = 0; i < task.clips.size(); ++i) {
    progress(what, i, task.clips.size());
    std::vector<std::vector<float>> pooled;  // one per layer
    try {
      pooled = clip_features(task.clips[i].input, features);
    } catch (const Error& e) {
      throw Error(task.source + ":" + std::to_string(task.clips[i].line) + ": " + e.what());
    }
    for (size_t l = 0; l < data.size(); ++l) {
      data[l].dim = static_cast<int>(pooled[l].size());
      data[l].features.insert(data[l].features.end(), pooled[l].begin(), pooled[l].end());
      data[l].labels.push_back(task.labels[i]);
    }
  }
  progress(what, task.clips.size(), task.clips.size());
  std::vector<ProbeRow> rows;
  for (size_t l = 0; l < data.size(); ++l)
    rows.push_back({&network, features.layers[l], data[l].dim, cross_validate(data[l], task.folds, svm)});
  return rows;
}

// How the features were made and the SVM trained, as the report states it.
struct ProbeSettings {
  std::string modality, pool;
  int hop_ms = 0;
  double window_s = 0;
  SvmOptions svm;
};

void print_json(const ProbeTask& task, const ProbeSettings& settings, const std::vector<ProbeRow>& rows) {
  nlohmann::json j;
  j[task.fold_source == "esc50" ? "esc50" : "manifest"] = task.source;
  j["clips"] = task.clips.size();
  j["classes"] = task.class_sizes;
  j["fold_source"] = task.fold_source;
  j["modality"] = settings.modality;
  j["pool"] = settings.pool;
  j["hop_ms"] = settings.hop_ms;
  j["C"] = settings.svm.auto_C ? nlohmann::json("auto") : nlohmann::json(settings.svm.C);
  j["majority_accuracy"] = task.majority();
  for (const ProbeRow& row : rows) {
    nlohmann::json r = {{"network", row.network->name},
                        {"model_id", row.network->id},
                        {"layer", row.layer},
                        {"dim", row.dim},
                        {"mean_accuracy", row.score.mean_accuracy()},
                        {"std_accuracy", row.score.std_accuracy()}};
    if (row.network->seed >= 0)
      r["seed"] = row.network->seed;  // a random-init network, whose file was temporary
    else
      r["model"] = row.network->path;
    for (const FoldScore& f : row.score.folds)
      r["folds"].push_back({{"fold", f.fold},
                            {"train", f.n_train},
                            {"test", f.n_test},
                            {"correct", f.n_correct},
                            {"accuracy", f.accuracy()},
                            {"C", f.C}});
    j["results"].push_back(r);
  }
  std::printf("%s\n", j.dump(2).c_str());
}

void print_text(const ProbeTask& task, const ProbeSettings& settings, const std::vector<const Network*>& networks,
                const std::vector<ProbeRow>& rows) {
  std::printf("probe        %s: %zu clips, %zu classes (", task.source.c_str(), task.clips.size(),
              task.class_sizes.size());
  const char* sep = "";
  for (const auto& [label, size] : task.class_sizes)
    std::printf("%s%s %d", std::exchange(sep, ", "), label.c_str(), size);
  std::printf("), %zu folds %s\n", rows.front().score.folds.size(),
              task.fold_source == "stratified" ? "stratified" : "as listed");
  std::printf("features     %s, %s-pooled over %g s windows every %d ms, standardised per fold\n",
              settings.modality.c_str(), settings.pool.c_str(), settings.window_s, settings.hop_ms);
  if (settings.svm.auto_C)
    std::printf(
        "svm          linear (liblinear, squared hinge, one-vs-rest), C per fold by inner 3-fold "
        "cross-validation\n");
  else
    std::printf("svm          linear (liblinear, squared hinge, one-vs-rest), C = %g\n", settings.svm.C);
  for (const Network* n : networks)
    std::printf("%-12s %s (id %s)\n", n->name.c_str(), n->description.c_str(), n->id.c_str());
  std::printf("chance       %s %% (majority class)\n\naccuracy %%\n", percent(task.majority()).c_str());
  std::printf("%-12s %-10s %5s", "network", "layer", "dim");
  for (const FoldScore& f : rows.front().score.folds) std::printf("  fold %-2d", f.fold);
  std::printf("  %6s  %5s\n", "mean", "std");
  for (const ProbeRow& row : rows) {
    std::printf("%-12s %-10s %5d", row.network->name.c_str(), row.layer.c_str(), row.dim);
    for (const FoldScore& f : row.score.folds) std::printf("  %7s", percent(f.accuracy()).c_str());
    std::printf("  %6s  %5s\n", percent(row.score.mean_accuracy()).c_str(), percent(row.score.std_accuracy()).c_str());
  }
}

}  // namespace

int cmd_probe(int argc, char** argv) {
  gchar *model_arg = nullptr, *esc50_arg = nullptr, *root_arg = nullptr, *modality_arg = nullptr, *layer_arg = nullptr,
        *pool_arg = nullptr, *c_arg = nullptr, *device_arg = nullptr;
  gint folds_arg = 0, hop_ms = 400, batch = 0;
  gint64 seed = 0, init_seed_arg = -1;
  gboolean random_init = FALSE, as_json = FALSE;
  const GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_arg, "Model file (default: the shipped model)", "MODEL"},
      {"esc50", 0, 0, G_OPTION_ARG_FILENAME, &esc50_arg,
       "Use the ESC-50 data set in DIR (meta/esc50.csv, audio/*.wav, its 5 folds) instead of a manifest", "DIR"},
      {"root", 0, 0, G_OPTION_ARG_FILENAME, &root_arg,
       "Folder of the manifest's relative paths (default: $AVTS_MEDIA, else the manifest's folder)", "DIR"},
      {"modality", 0, 0, G_OPTION_ARG_STRING, &modality_arg, "audio (default), video or both (concatenated)", "M"},
      {"layer", 0, 0, G_OPTION_ARG_STRING, &layer_arg,
       "embedding (default), layer1 .. layer4, a comma list of them, or all: one row each", "L[,L...]"},
      {"pool", 0, 0, G_OPTION_ARG_STRING, &pool_arg, "Pooling over a clip's windows: mean (default) or mean+max", "P"},
      {"hop", 0, 0, G_OPTION_ARG_INT, &hop_ms, "Hop between a clip's 1 s windows in ms (default 400)", "MS"},
      {"folds", 0, 0, G_OPTION_ARG_INT, &folds_arg, "Stratified folds when the manifest has no fold column (default 5)",
       "K"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the stratified folds (default 0)", "N"},
      {"C", 'C', 0, G_OPTION_ARG_STRING, &c_arg,
       "The SVM's cost: a number (default 1) or auto (per fold, by inner 3-fold cross-validation)", "C|auto"},
      {"random-init", 0, 0, G_OPTION_ARG_NONE, &random_init,
       "Also probe a freshly initialised network of the model's preset and seed (baseline rows)", nullptr},
      {"init-seed", 0, 0, G_OPTION_ARG_INT64, &init_seed_arg,
       "Seed of the --random-init network (default: the model's own, from its provenance)", "N"},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device_arg, "cpu (default), cuda or cuda:N", "DEV"},
      {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch, "Windows per forward pass", "N"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the results as JSON", nullptr},
      {}};
  parse_options(argc, argv, "[MANIFEST]",
                "Linear-probe evaluation of frozen features: a linear SVM (liblinear) on pooled "
                "per-clip features, k-fold cross-validated. MANIFEST lines: PATH-OR-URI LABEL [FOLD].",
                entries);
  std::string model_path = take_string(model_arg), modality = take_string(modality_arg);
  const std::string esc50 = take_string(esc50_arg), pool = take_string(pool_arg), c_text = take_string(c_arg);
  std::string root = take_string(root_arg);
  ClipFeatureOptions features;
  features.layers = parse_layers(take_string(layer_arg));
  features.device = take_string(device_arg);
  features.hop_ms = hop_ms;
  features.batch_size = batch;

  if (esc50.empty() == (argc != 2))
    throw Error(argc > 2 ? "expected one manifest" : "give a manifest or --esc50 DIR (one of them)");
  if (modality.empty()) modality = "audio";
  if (modality != "audio" && modality != "video" && modality != "both")
    throw Error("--modality must be audio, video or both");
  features.audio = modality != "video";
  features.video = modality != "audio";
  if (pool.empty() || pool == "mean")
    features.pooling = Pooling::Mean;
  else if (pool == "mean+max")
    features.pooling = Pooling::MeanMax;
  else
    throw Error("--pool must be mean or mean+max");
  if (hop_ms <= 0 || batch < 0) throw Error("--hop and --batch-size must be positive");
  if (folds_arg < 0) throw Error("--folds must be at least 2");

  SvmOptions svm;
  svm.seed = static_cast<uint64_t>(seed);
  if (c_text == "auto") {
    svm.auto_C = true;
  } else if (!c_text.empty()) {
    char* end = nullptr;
    svm.C = g_ascii_strtod(c_text.c_str(), &end);
    if (*end || !(svm.C > 0)) throw Error("--C must be a positive number or auto, got '" + c_text + "'");
  }

  if (root.empty() && g_getenv("AVTS_MEDIA")) root = g_getenv("AVTS_MEDIA");
  const ProbeTask task = make_task(esc50.empty() ? argv[1] : "", esc50, root, folds_arg, svm.seed);

  // The networks: the model, and its random-init twin when asked for.
  if (model_path.empty()) model_path = default_model_path();
  const auto model = Model::load(model_path);
  std::vector<Network> networks = {{"model", model_path, model->id(), model_path, -1}};
  std::unique_ptr<RandomInitFile> random_file;
  if (random_init) {
    const uint64_t seed = init_seed_arg >= 0 ? static_cast<uint64_t>(init_seed_arg) : init_seed(model->config());
    random_file = std::make_unique<RandomInitFile>(*model, seed);
    networks.push_back({"random-init", random_file->path(), random_file->id(),
                        model->config().preset + " freshly initialised with seed " + std::to_string(seed),
                        static_cast<int64_t>(seed)});
  }
  std::vector<ProbeRow> rows;
  for (const Network& network : networks) {
    std::vector<ProbeRow> more = probe_network(network, task, features, svm);
    rows.insert(rows.end(), more.begin(), more.end());
  }

  const ProbeSettings settings{modality, features.pooling == Pooling::Mean ? "mean" : "mean+max", hop_ms,
                               model->config().clip_seconds, svm};
  if (as_json) {
    print_json(task, settings, rows);
  } else {
    std::vector<const Network*> described;
    for (const Network& n : networks) described.push_back(&n);
    print_text(task, settings, described, rows);
  }
  return kExitOk;
}

}  // namespace avts
