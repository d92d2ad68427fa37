// Internal to lib/: collects consecutive windows of one grid and runs them through the
// model a batch at a time. Shared by the audio and video featurizers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "avts/error.h"
#include "avts/featurizer.h"
#include "avts/model.h"

namespace avts {

class WindowBatch {
 public:
  // Throws avts::Error for an unknown layer or a batch size below 1.
  WindowBatch(std::shared_ptr<const Model> model, Modality modality, const FeaturizerOptions& options,
              size_t window_floats)
      : model_(std::move(model)),
        modality_(modality),
        layer_(options.layer),
        hop_ns_(options.hop_ns),
        batch_size_(options.batch_size),
        window_floats_(window_floats) {
    if (!model_) throw Error("featurizer: no model");
    if (batch_size_ < 1) throw Error("batch size must be at least 1 (got " + std::to_string(batch_size_) + ")");
    dim_ = model_->dim(modality_, layer_);  // throws for an unknown layer
    input_.resize(static_cast<size_t>(batch_size_) * window_floats_);
  }

  int dim() const { return dim_; }

  // Where the next window's input goes (window_floats floats).
  float* next_window() { return input_.data() + static_cast<size_t>(n_) * window_floats_; }

  // The window written at next_window() starts at pts_ns, one hop after the previous one.
  // A full batch goes through the model and becomes one FeatureRows in `out`.
  void commit(int64_t pts_ns, std::vector<FeatureRows>& out) {
    if (n_ == 0) first_pts_ = pts_ns;
    if (++n_ == batch_size_) flush(out);
  }

  // Runs a partial batch (end of a grid).
  void flush(std::vector<FeatureRows>& out) {
    if (n_ == 0) return;
    FeatureRows rows;
    rows.pts_ns = first_pts_;
    rows.hop_ns = hop_ns_;
    rows.n = n_;
    rows.dim = dim_;
    rows.discont = discont_;
    rows.data.resize(static_cast<size_t>(n_) * dim_);
    model_->embed(modality_, input_.data(), n_, layer_, rows.data.data());
    out.push_back(std::move(rows));
    n_ = 0;
    discont_ = false;
  }

  // Starts a new grid: pending windows are dropped, the next rows are discont.
  void restart() {
    n_ = 0;
    discont_ = true;
  }

 private:
  std::shared_ptr<const Model> model_;
  Modality modality_;
  std::string layer_;
  int64_t hop_ns_;
  int batch_size_;
  size_t window_floats_;
  int dim_ = 0;
  std::vector<float> input_;  // batch_size x window_floats
  int n_ = 0;                 // windows waiting in input_
  int64_t first_pts_ = 0;
  bool discont_ = true;
};

}  // namespace avts
