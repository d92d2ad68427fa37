#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>

#include "avts/config.h"
#include "avts/error.h"

using avts::ModelConfig;

TEST(Config, PaperPresetFollowsThePaper) {
  const ModelConfig c = ModelConfig::preset_config("avts-mc3-18");
  EXPECT_EQ(c.audio.sample_rate, 16000);
  EXPECT_EQ(c.audio.win_length, 400);
  EXPECT_EQ(c.audio.hop_length, 160);
  EXPECT_EQ(c.audio.n_fft, 512);
  EXPECT_EQ(c.audio.n_mels, 40);
  EXPECT_EQ(c.video.crop, 112);
  EXPECT_EQ(c.video_base_width, 64);
  EXPECT_EQ(c.embedding_dim, 128);
  EXPECT_EQ(c.audio_frames_per_clip(), 100);
  EXPECT_EQ(c.video_frames_per_clip(), 25);
  EXPECT_NO_THROW(c.validate());
}

TEST(Config, CompactPresetIsSmaller) {
  const ModelConfig c = ModelConfig::preset_config("avts-compact");
  EXPECT_LT(c.video.crop, 112);
  EXPECT_LT(c.video_base_width, 64);
  EXPECT_DOUBLE_EQ(c.clip_seconds, 0.2);  // lip-sync window: 5 frames, 20 log-mel frames
  EXPECT_EQ(c.video_frames_per_clip(), 5);
  EXPECT_EQ(c.audio_frames_per_clip(), 20);
  EXPECT_NO_THROW(c.validate());
}

TEST(Config, UnknownPresetListsKnownOnes) {
  try {
    ModelConfig::preset_config("resnet-9000");
    FAIL() << "no error";
  } catch (const avts::Error& e) {
    EXPECT_NE(std::string(e.what()).find("avts-compact"), std::string::npos) << e.what();
  }
}

TEST(Config, JsonRoundTrip) {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  c.threshold = 0.731;
  c.provenance["command"] = "avts train x";
  c.video.mean = {0.1f, 0.2f, 0.3f};
  const ModelConfig back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.preset, c.preset);
  EXPECT_DOUBLE_EQ(back.threshold, 0.731);
  EXPECT_EQ(back.provenance.at("command"), "avts train x");
  EXPECT_FLOAT_EQ(back.video.mean[2], 0.3f);
  EXPECT_EQ(back.video.crop, c.video.crop);
  EXPECT_EQ(back.to_json(), c.to_json());
  c.video.region = {0.2, 0.45, 0.6, 0.5};
  EXPECT_EQ(ModelConfig::from_json(c.to_json()).video.region, c.video.region);
}

// Fields beyond the paper are written only when set, so earlier files (and the ids hashed over
// this text) stay as they were; set, they survive the round trip.
TEST(Config, OptionalFieldsAreWrittenOnlyWhenSet) {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  for (const char* key : {"min_confidence", "normalise", "\"input\"", "framing"})
    EXPECT_EQ(c.to_json().find(key), std::string::npos) << key;
  c.min_confidence = 0.25;
  c.video.input = "gray-motion";
  c.audio.normalise = "band-mean";
  c.video.framing = "face";
  const ModelConfig back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.video.framing, "face");
  EXPECT_DOUBLE_EQ(back.min_confidence, 0.25);
  EXPECT_EQ(back.video.input, "gray-motion");
  EXPECT_EQ(back.audio.normalise, "band-mean");
  c.min_confidence = -0.1;
  EXPECT_THROW(c.validate(), avts::Error);
  c.min_confidence = 0;
  c.audio.normalise = "utterance";
  EXPECT_THROW(c.validate(), avts::Error);
  c.audio.normalise = "none";
  c.video.framing = "body";
  EXPECT_THROW(c.validate(), avts::Error);
}

// Files written before the region existed look at the whole frame.
TEST(Config, MissingRegionIsTheWholeFrame) {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  c.video.region = {0.1, 0.1, 0.5, 0.5};
  std::string json = c.to_json();
  const size_t at = json.find("\"region\"");
  ASSERT_NE(at, std::string::npos);
  json.erase(at, json.find(']', at) + 2 - at);  // the key, its list and the comma
  EXPECT_EQ(ModelConfig::from_json(json).video.region, (std::array<double, 4>{0, 0, 1, 1}));
}

TEST(Config, MalformedJsonIsAnError) {
  EXPECT_THROW(ModelConfig::from_json("{"), avts::Error);
  EXPECT_THROW(ModelConfig::from_json("{\"preset\": 3}"), avts::Error);
  EXPECT_THROW(ModelConfig::from_json("[]"), avts::Error);
}

TEST(Config, OutOfRangeValuesAreRefused) {
  ModelConfig c = ModelConfig::preset_config("avts-mc3-18");
  c.audio.win_length = 1024;  // longer than n_fft
  EXPECT_THROW(c.validate(), avts::Error);
  c = ModelConfig::preset_config("avts-mc3-18");
  c.audio.f_max = 9000;  // above Nyquist
  EXPECT_THROW(ModelConfig::from_json(c.to_json()), avts::Error);
  c = ModelConfig::preset_config("avts-mc3-18");
  c.video.resize = 64;  // smaller than the crop
  EXPECT_THROW(c.validate(), avts::Error);
  for (const std::array<double, 4> region :
       {std::array<double, 4>{0.5, 0, 0.6, 1}, {0, -0.1, 1, 1}, {0, 0, 0.01, 1}, {0, 0, NAN, 1}}) {
    c = ModelConfig::preset_config("avts-compact");
    c.video.region = region;
    EXPECT_THROW(c.validate(), avts::Error) << region[0] << "," << region[1] << "," << region[2] << "," << region[3];
  }
}
