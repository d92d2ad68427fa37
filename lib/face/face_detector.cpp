#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect/face.hpp>

#include <glib.h>

#include <algorithm>
#include <cmath>

#include "avts/error.h"
#include "avts/face_tracker.h"

namespace avts {

namespace {

// YuNet's pooling stages need at least this many pixels on each side: smaller pictures are
// padded (at the right and bottom, so that coordinates stay as they are).
constexpr int kMinDetectSide = 64;

}  // namespace

struct FaceDetector::Impl {
  cv::Ptr<cv::FaceDetectorYN> yunet;
  Options options;
  cv::Size input_size;
  cv::Mat bgr, scaled;
};

FaceDetector::FaceDetector(const std::string& model_path, const Options& options) : impl_(std::make_unique<Impl>()) {
  if (!(options.min_score >= 0 && options.min_score <= 1)) throw Error("face detector: min score must be in [0, 1]");
  if (options.detect_size < 32) throw Error("face detector: detect size must be at least 32 pixels");
  if (!g_file_test(model_path.c_str(), G_FILE_TEST_IS_REGULAR))
    throw Error("face detector model '" + model_path + "' does not exist");
  impl_->options = options;
  try {
    impl_->input_size = cv::Size(320, 320);
    impl_->yunet = cv::FaceDetectorYN::create(model_path, "", impl_->input_size, options.min_score, 0.3f, 50);
  } catch (const cv::Exception& e) {
    throw Error("face detector model '" + model_path + "' cannot be loaded (not YuNet ONNX?): " + e.what());
  }
  if (!impl_->yunet) throw Error("face detector model '" + model_path + "' cannot be loaded");
}

FaceDetector::~FaceDetector() = default;

std::vector<Face> FaceDetector::detect(const RgbImage& frame) {
  if (!frame.data || frame.width <= 0 || frame.height <= 0 || frame.stride < 3 * frame.width)
    throw Error("face detector: empty video frame or stride too small");
  Impl& d = *impl_;
  const cv::Mat rgb(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.data),
                    static_cast<size_t>(frame.stride));
  const double scale = std::min(1.0, static_cast<double>(d.options.detect_size) / std::max(frame.width, frame.height));
  const cv::Size size(std::max(1, static_cast<int>(std::lround(frame.width * scale))),
                      std::max(1, static_cast<int>(std::lround(frame.height * scale))));
  if (scale < 1.0) {
    cv::resize(rgb, d.scaled, size, 0, 0, cv::INTER_AREA);
    cv::cvtColor(d.scaled, d.bgr, cv::COLOR_RGB2BGR);
  } else {
    cv::cvtColor(rgb, d.bgr, cv::COLOR_RGB2BGR);
  }
  if (d.bgr.cols < kMinDetectSide || d.bgr.rows < kMinDetectSide)
    cv::copyMakeBorder(d.bgr, d.bgr, 0, std::max(0, kMinDetectSide - d.bgr.rows), 0,
                       std::max(0, kMinDetectSide - d.bgr.cols), cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  const cv::Size padded(d.bgr.cols, d.bgr.rows);
  cv::Mat found;
  try {
    if (padded != d.input_size) {
      d.yunet->setInputSize(padded);
      d.input_size = padded;
    }
    d.yunet->detect(d.bgr, found);
  } catch (const cv::Exception& e) {
    throw Error(std::string("face detector failed: ") + e.what());
  }
  // Rows of 15: box x, y, w, h; five landmarks (x, y); score.
  const float back_x = static_cast<float>(frame.width) / size.width;
  const float back_y = static_cast<float>(frame.height) / size.height;
  std::vector<Face> faces;
  for (int i = 0; i < found.rows; ++i) {
    const float* r = found.ptr<float>(i);
    Face f;
    f.x = r[0] * back_x;
    f.y = r[1] * back_y;
    f.width = r[2] * back_x;
    f.height = r[3] * back_y;
    for (int k = 0; k < 5; ++k) f.landmarks[k] = {r[4 + 2 * k] * back_x, r[5 + 2 * k] * back_y};
    f.has_landmarks = true;
    f.score = r[14];
    if (f.width > 0 && f.height > 0) faces.push_back(f);
  }
  std::sort(faces.begin(), faces.end(), [](const Face& a, const Face& b) { return a.score > b.score; });
  return faces;
}

std::string FaceDetector::default_model_path() {
  if (const char* env = g_getenv("AVTS_FACE_MODEL"); env && *env) return env;
  if (g_file_test(AVTS_INSTALLED_FACE_MODEL, G_FILE_TEST_IS_REGULAR)) return AVTS_INSTALLED_FACE_MODEL;
  return AVTS_SOURCE_FACE_MODEL;
}

}  // namespace avts
