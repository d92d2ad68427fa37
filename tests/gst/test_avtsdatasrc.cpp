// avtsdatasrc on the bundled clips: manifest parsing with bad lines and unusable files
// skipped and counted (once each, the run goes on), epochs looping with the file marks in
// order and the same on both pads, each file's segment / DISCONT, shards disjoint and
// covering, shuffle deterministic by seed, the cache (no second decode), the audio rate
// from downstream, short-side scaling, and errors for a missing or useless manifest.
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "element_test.h"

using namespace avts_test;

namespace {

// The bundled clips (meson sets AVTS_TEST_MEDIA).
std::string media_dir() {
  const char* dir = g_getenv("AVTS_TEST_MEDIA");
  return dir ? dir : "tests/media";
}
std::string media(const char* name) { return media_dir() + "/" + name; }
const std::string kClipA = media("grid_s1_bbal8p.mpg");
const std::string kClipB = media("grid_s1_lgas2n.mpg");
const std::string kClipC = media("grid_s4_bgbu1p.webm");

// A scratch folder with files written by the tests.
class Scratch {
 public:
  Scratch() {
    gchar* dir = g_dir_make_tmp("avts-datasrc-test-XXXXXX", nullptr);
    dir_ = dir;
    g_free(dir);
  }
  ~Scratch() {
    for (const std::string& f : files_) g_remove(f.c_str());
    g_rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  // A WAV file: audio only, no video track.
  std::string tone(const std::string& name) {
    const std::string path = dir_ + "/" + name;
    gchar* description =
        g_strdup_printf("audiotestsrc num-buffers=20 ! wavenc ! filesink location=\"%s\"", path.c_str());
    GstElement* p = gst_parse_launch(description, nullptr);
    g_free(description);
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(p);
    gst_message_unref(gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    files_.push_back(path);
    return path;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
};

// What reached one sink pad, in order.
struct Item {
  enum Kind { FileStart, EpochEnd, Caps, Segment, Buffer, Eos } kind;
  GstStructure* fields = nullptr;  // marks
  GstCaps* caps = nullptr;
  GstSegment segment{};
  GstClockTime pts = GST_CLOCK_TIME_NONE, duration = GST_CLOCK_TIME_NONE, running_time = GST_CLOCK_TIME_NONE;
  bool discont = false;
  size_t size = 0;
  int faces = 0;  // region-of-interest metas of type "face"
};

std::string field(const GstStructure* s, const char* name) {
  const gchar* v = gst_structure_get_string(s, name);
  return v ? v : "";
}
int int_field(const GstStructure* s, const char* name) {
  gint v = -1;
  EXPECT_TRUE(gst_structure_get_int(s, name, &v)) << name;
  return v;
}
guint64 sequence_of(const GstStructure* s) {
  guint64 v = 0;
  EXPECT_TRUE(gst_structure_get_uint64(s, "sequence", &v));
  return v;
}

// avtsdatasrc (props) -> fakesinks, with everything reaching the sinks recorded.
class DataRun {
 public:
  explicit DataRun(const std::string& props, const std::string& audio_filter = "") {
    const std::string description = "avtsdatasrc name=d " + props + " d.audio_src ! " + audio_filter +
                                    " fakesink name=a sync=false d.video_src ! fakesink name=v sync=false";
    GError* error = nullptr;
    pipeline = gst_parse_launch(description.c_str(), &error);
    EXPECT_EQ(error, nullptr) << (error ? error->message : "");
    if (error) g_error_free(error);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "d");
    for (auto [name, items] : {std::pair{"a", &audio}, std::pair{"v", &video}}) {
      GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), name);
      GstPad* pad = gst_element_get_static_pad(sink, "sink");
      probes_.push_back({this, items});
      gst_pad_add_probe(pad,
                        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                        on_probe, &probes_.back(), nullptr);
      gst_object_unref(pad);
      gst_object_unref(sink);
    }
  }
  ~DataRun() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    clear();
    for (GstStructure* s : warnings) gst_structure_free(s);
    for (GstStructure* s : messages) gst_structure_free(s);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }

  // Forgets what was recorded.
  void clear() {
    for (auto* list : {&audio, &video}) {
      for (Item& i : *list) {
        if (i.fields) gst_structure_free(i.fields);
        if (i.caps) gst_caps_unref(i.caps);
      }
      list->clear();
    }
  }

  // Plays to EOS (true) or an error (false; its text in `error`).
  bool run() {
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(pipeline);
    bool eos = false;
    while (GstMessage* m =
               gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                          static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR |
                                                                      GST_MESSAGE_WARNING | GST_MESSAGE_ELEMENT))) {
      const GstMessageType type = GST_MESSAGE_TYPE(m);
      if (type == GST_MESSAGE_WARNING) {
        const GstStructure* details = nullptr;
        gst_message_parse_warning_details(m, &details);
        warnings.push_back(details ? gst_structure_copy(details) : gst_structure_new_empty("none"));
      } else if (type == GST_MESSAGE_ELEMENT) {
        messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
      } else if (type == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gst_message_parse_error(m, &err, nullptr);
        error = err->message;
        g_error_free(err);
      }
      gst_message_unref(m);
      if (type == GST_MESSAGE_EOS) eos = true;
      if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR) break;
    }
    gst_object_unref(bus);
    return eos;
  }

  guint stat(const char* name) {
    guint v = 0;
    g_object_get(src, name, &v, nullptr);
    return v;
  }

  // The marks (file starts and epoch ends) on a pad, in order.
  static std::vector<const Item*> marks(const std::vector<Item>& items) {
    std::vector<const Item*> out;
    for (const Item& i : items)
      if (i.kind == Item::FileStart || i.kind == Item::EpochEnd) out.push_back(&i);
    return out;
  }
  // The ids of the files, epoch by epoch.
  static std::vector<std::vector<std::string>> epochs(const std::vector<Item>& items) {
    std::vector<std::vector<std::string>> out(1);
    for (const Item* m : marks(items)) {
      if (m->kind == Item::EpochEnd)
        out.emplace_back();
      else
        out.back().push_back(field(m->fields, "id"));
    }
    out.pop_back();  // after the last epoch end
    return out;
  }

  GstElement *pipeline = nullptr, *src = nullptr;
  std::vector<Item> audio, video;
  std::vector<GstStructure*> warnings, messages;
  std::string error;

 private:
  struct Probe {
    DataRun* self;
    std::vector<Item>* items;
  };
  static GstPadProbeReturn on_probe(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* probe = static_cast<Probe*>(data);
    std::lock_guard<std::mutex> guard(probe->self->lock_);
    std::vector<Item>& items = *probe->items;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
      GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
      Item i{Item::Buffer};
      i.pts = GST_BUFFER_PTS(b);
      i.duration = GST_BUFFER_DURATION(b);
      i.discont = GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT);
      i.size = gst_buffer_get_size(b);
      gpointer state = nullptr;
      while (GstMeta* m = gst_buffer_iterate_meta_filtered(b, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
        i.faces += reinterpret_cast<GstVideoRegionOfInterestMeta*>(m)->roi_type == g_quark_from_string("face");
      for (auto it = items.rbegin(); it != items.rend(); ++it)
        if (it->kind == Item::Segment) {
          i.running_time = gst_segment_to_running_time(&it->segment, GST_FORMAT_TIME, i.pts);
          break;
        }
      items.push_back(i);
      return GST_PAD_PROBE_OK;
    }
    GstEvent* e = GST_PAD_PROBE_INFO_EVENT(info);
    const GstStructure* s = gst_event_get_structure(e);
    switch (GST_EVENT_TYPE(e)) {
      case GST_EVENT_CUSTOM_DOWNSTREAM: {
        Item i{gst_structure_has_name(s, "avts-file-start") ? Item::FileStart : Item::EpochEnd};
        i.fields = gst_structure_copy(s);
        items.push_back(i);
        break;
      }
      case GST_EVENT_CAPS: {
        Item i{Item::Caps};
        gst_event_parse_caps(e, &i.caps);
        gst_caps_ref(i.caps);
        items.push_back(i);
        break;
      }
      case GST_EVENT_SEGMENT: {
        Item i{Item::Segment};
        gst_event_copy_segment(e, &i.segment);
        items.push_back(i);
        break;
      }
      case GST_EVENT_EOS:
        items.push_back(Item{Item::Eos});
        break;
      default:
        break;
    }
    return GST_PAD_PROBE_OK;
  }
  std::mutex lock_;
  std::deque<Probe> probes_;
};

class DataSrc : public ElementTest {};

std::string props(const std::string& manifest, const std::string& more) {
  return "manifest=\"" + manifest + "\" short-side=32 " + more;
}

// The error of a run that is refused when it starts (READY -> PAUSED fails).
std::string start_error(const std::string& properties) {
  DataRun r(properties);
  EXPECT_EQ(gst_element_set_state(r.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  EXPECT_FALSE(r.run());
  return r.error;
}

}  // namespace

TEST_F(DataSrc, PadsPropertiesAndDocs) {
  GstElement* src = gst_element_factory_make("avtsdatasrc", nullptr);
  ASSERT_NE(src, nullptr) << "avtsdatasrc not found: is GST_PLUGIN_PATH set to the build's gst/?";
  for (const char* pad : {"audio_src", "video_src"}) {
    GstPad* p = gst_element_get_static_pad(src, pad);
    EXPECT_NE(p, nullptr) << pad;
    if (p) gst_object_unref(p);
  }
  expect_documented(src);
  guint epochs = 0, shards = 0, cache = 0;
  gboolean shuffle = FALSE;
  g_object_get(src, "epochs", &epochs, "num-shards", &shards, "cache-size", &cache, "shuffle", &shuffle, nullptr);
  EXPECT_EQ(epochs, 1u);
  EXPECT_EQ(shards, 1u);
  EXPECT_EQ(cache, 1024u);
  EXPECT_TRUE(shuffle);
  gst_object_unref(gst_object_ref_sink(src));
}

TEST_F(DataSrc, SkipsBadLinesAndUnusableFilesOnceAndGoesOn) {
  Scratch scratch;
  const std::string tone = scratch.tone("tone.wav");
  const std::string junk = scratch.write("junk.mp4", "this is not a media file\n");
  const std::string manifest =
      scratch.write("m.txt", "# a comment\n\n" + kClipA + " train   # a trailing comment\n" + kClipB + "\n" + kClipA +
                                 " sideways\n" +              // unknown split tag
                                 kClipA + " train extra\n" +  // three columns
                                 scratch.dir() + "/missing.mp4\n" +
                                 "tone.wav\n" +  // relative: from the manifest's folder; audio only
                                 "junk.mp4 val\n");
  DataRun r(props(manifest, "epochs=2 shuffle=false"));
  ASSERT_TRUE(r.run()) << r.error;

  // The two usable files, both epochs, on both pads; the run went on past every bad input.
  const std::vector<std::vector<std::string>> expected{{kClipA, kClipB}, {kClipA, kClipB}};
  EXPECT_EQ(DataRun::epochs(r.audio), expected);
  EXPECT_EQ(DataRun::epochs(r.video), expected);
  // 2 bad lines + 3 unusable files, each counted and warned about once over the two epochs.
  EXPECT_EQ(r.stat("skipped"), 5u);
  std::vector<std::string> inputs, reasons;
  guint last = 0;
  for (const GstStructure* w : r.warnings) {
    ASSERT_TRUE(gst_structure_has_field(w, "input"));
    inputs.push_back(field(w, "input"));
    reasons.push_back(field(w, "reason"));
    guint n = 0;
    gst_structure_get_uint(w, "skipped", &n);
    EXPECT_EQ(n, last + 1);  // the running count
    last = n;
  }
  ASSERT_EQ(inputs.size(), 5u);
  EXPECT_EQ(inputs[0], manifest + " line 5");
  EXPECT_NE(reasons[0].find("sideways"), std::string::npos) << reasons[0];
  EXPECT_EQ(inputs[1], manifest + " line 6");
  EXPECT_NE(reasons[1].find("columns"), std::string::npos) << reasons[1];
  // Epoch 1 in manifest order: the val-tagged junk first, then the others.
  EXPECT_EQ(inputs[2], scratch.dir() + "/junk.mp4");
  EXPECT_EQ(inputs[3], scratch.dir() + "/missing.mp4");
  EXPECT_NE(reasons[3].find("no such file"), std::string::npos) << reasons[3];
  EXPECT_EQ(inputs[4], tone);
  EXPECT_NE(reasons[4].find("no video"), std::string::npos) << reasons[4];
  // The epoch-end messages carry the count.
  std::vector<guint> skipped_at_epoch_end;
  for (const GstStructure* m : r.messages)
    if (gst_structure_has_name(m, "avts-epoch-end")) {
      guint n = 0;
      gst_structure_get_uint(m, "skipped", &n);
      skipped_at_epoch_end.push_back(n);
    }
  EXPECT_EQ(skipped_at_epoch_end, (std::vector<guint>{5, 5}));
  // The split tags travel with the files.
  const auto marks = DataRun::marks(r.audio);
  EXPECT_EQ(field(marks[0]->fields, "split"), "train");
  EXPECT_EQ(field(marks[1]->fields, "split"), "auto");
}

TEST_F(DataSrc, EpochsLoopWithMarksInOrderOnBothPads) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", kClipA + "\n" + kClipC + " val\n" + kClipB + " train\n");
  DataRun r(props(manifest, "epochs=2 shuffle=false"));
  ASSERT_TRUE(r.run()) << r.error;

  // Validation files come once, first; training files every epoch, in manifest order.
  const std::vector<std::vector<std::string>> expected{{kClipC, kClipA, kClipB}, {kClipA, kClipB}};
  EXPECT_EQ(DataRun::epochs(r.audio), expected);

  for (const auto* items : {&r.audio, &r.video}) {
    const auto marks = DataRun::marks(*items);
    ASSERT_EQ(marks.size(), 7u);  // 3 + end, 2 + end
    // The same marks on both pads, sequence numbers rising.
    const auto other = DataRun::marks(items == &r.audio ? r.video : r.audio);
    for (size_t i = 0; i < marks.size(); ++i) {
      EXPECT_TRUE(gst_structure_is_equal(marks[i]->fields, other[i]->fields)) << i;
      if (i > 0) {
        EXPECT_GT(sequence_of(marks[i]->fields), sequence_of(marks[i - 1]->fields));
      }
    }
    EXPECT_EQ(marks[3]->kind, Item::EpochEnd);
    EXPECT_EQ(int_field(marks[3]->fields, "epoch"), 0);
    EXPECT_EQ(int_field(marks[3]->fields, "files"), 3);
    EXPECT_EQ(int_field(marks[6]->fields, "epoch"), 1);
    EXPECT_EQ(int_field(marks[6]->fields, "files"), 2);
    EXPECT_EQ(int_field(marks[4]->fields, "epoch"), 1);
    EXPECT_EQ(int_field(marks[4]->fields, "epochs"), 2);
    EXPECT_EQ(int_field(marks[4]->fields, "index"), 0);
    EXPECT_EQ(int_field(marks[4]->fields, "files"), 2);
    EXPECT_EQ(field(marks[0]->fields, "split"), "validation");
    gchar* uri = gst_filename_to_uri(kClipC.c_str(), nullptr);
    EXPECT_EQ(field(marks[0]->fields, "uri"), uri);
    g_free(uri);
    EXPECT_EQ(items->back().kind, Item::Eos);

    // After each file start: a segment starting at 0 whose base continues the running
    // time, then the file's buffers, the first one DISCONT, the others only at a gap.
    GstClockTime last_running_time = 0;
    int files = 0;
    for (size_t i = 0; i < items->size(); ++i) {
      if ((*items)[i].kind != Item::FileStart) continue;
      ++files;
      size_t j = i + 1;
      while ((*items)[j].kind == Item::Caps) ++j;
      ASSERT_EQ((*items)[j].kind, Item::Segment);
      EXPECT_EQ((*items)[j].segment.start, 0u);
      EXPECT_GE((*items)[j].segment.base, last_running_time);
      ASSERT_EQ((*items)[j + 1].kind, Item::Buffer);
      EXPECT_TRUE((*items)[j + 1].discont);
      EXPECT_LT((*items)[j + 1].pts, 100 * kMs);  // the file's own times, from 0
      int buffers = 0;
      for (size_t k = j + 1; k < items->size() && (*items)[k].kind == Item::Buffer; ++k, ++buffers) {
        const Item& b = (*items)[k];
        if (k > j + 1 && b.discont && GST_CLOCK_TIME_IS_VALID((*items)[k - 1].duration)) {  // the decoder's: at a gap
          const Item& before = (*items)[k - 1];
          EXPECT_GT(b.pts, before.pts + before.duration + kMs) << "buffer " << k - j - 1;
        }
        EXPECT_GE((*items)[k].running_time, last_running_time);
        last_running_time = (*items)[k].running_time;
      }
      EXPECT_GT(buffers, items == &r.video ? 70 : 10);  // 3 s: 75 frames
    }
    EXPECT_EQ(files, 5);
  }
  // Audio: mono F32 at 16 kHz (fakesink takes anything); video: RGB, short side 32.
  const Item* audio_caps = nullptr;
  for (const Item& i : r.audio)
    if (i.kind == Item::Caps) audio_caps = &i;
  ASSERT_NE(audio_caps, nullptr);
  GstCaps* want = gst_caps_from_string("audio/x-raw,format=F32LE,channels=1,rate=16000,layout=interleaved");
  EXPECT_TRUE(gst_caps_is_equal(audio_caps->caps, want)) << gst_caps_to_string(audio_caps->caps);
  gst_caps_unref(want);
  int video_caps = 0;
  for (const Item& i : r.video)
    if (i.kind == Item::Caps) {
      ++video_caps;
      const GstStructure* s = gst_caps_get_structure(i.caps, 0);
      gint w = 0, h = 0;
      gst_structure_get_int(s, "width", &w);
      gst_structure_get_int(s, "height", &h);
      EXPECT_EQ(field(s, "format"), "RGB");
      EXPECT_EQ(std::min(w, h), 32);
    }
  EXPECT_GE(video_caps, 2);  // the webm's size differs from the mpg's: new caps on the way
}

TEST_F(DataSrc, CacheSendsLaterEpochsWithoutDecodingAgain) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", kClipA + "\n" + kClipB + "\n");
  DataRun cached(props(manifest, "epochs=3"));
  ASSERT_TRUE(cached.run()) << cached.error;
  EXPECT_EQ(cached.stat("decoded"), 2u);
  EXPECT_EQ(cached.stat("cache-hits"), 4u);

  DataRun uncached(props(manifest, "epochs=3 cache-size=0"));
  ASSERT_TRUE(uncached.run()) << uncached.error;
  EXPECT_EQ(uncached.stat("decoded"), 6u);
  EXPECT_EQ(uncached.stat("cache-hits"), 0u);

  // The same media either way (the cache changes nothing but the work).
  const auto sizes = [](const std::vector<Item>& items) {
    std::vector<size_t> out;
    for (const Item& i : items)
      if (i.kind == Item::Buffer) out.push_back(i.size);
    return out;
  };
  EXPECT_EQ(sizes(cached.video), sizes(uncached.video));
  EXPECT_EQ(sizes(cached.audio), sizes(uncached.audio));
  EXPECT_EQ(DataRun::epochs(cached.video), DataRun::epochs(uncached.video));
}

TEST_F(DataSrc, ShardsAreDisjointAndCoverTheManifest) {
  Scratch scratch;
  // Five entries: two of them name a clip again through another path (another input).
  const std::string dir = media_dir();
  const std::vector<std::string> entries{kClipA, kClipB, kClipC, dir + "/./grid_s1_bbal8p.mpg",
                                         dir + "/./grid_s1_lgas2n.mpg"};
  std::string list;
  for (const std::string& e : entries) list += e + "\n";
  const std::string manifest = scratch.write("m.txt", list);
  std::multiset<std::string> all;
  std::vector<std::set<std::string>> shards;
  for (int shard = 0; shard < 2; ++shard) {
    DataRun r(props(manifest, "num-shards=2 shard=" + std::to_string(shard)));
    ASSERT_TRUE(r.run()) << r.error;
    std::set<std::string> ids;
    for (const Item* m : DataRun::marks(r.video))
      if (m->kind == Item::FileStart) ids.insert(field(m->fields, "id"));
    shards.push_back(ids);
    all.insert(ids.begin(), ids.end());
  }
  // Entry i goes to shard i % 2: disjoint, covering, sizes within one.
  EXPECT_EQ(shards[0], (std::set<std::string>{entries[0], entries[2], entries[4]}));
  EXPECT_EQ(shards[1], (std::set<std::string>{entries[1], entries[3]}));
  EXPECT_EQ(all, std::multiset<std::string>(entries.begin(), entries.end()));

  // A shard beyond the count is refused when the run starts.
  const std::string bad = start_error(props(manifest, "num-shards=2 shard=2"));
  EXPECT_NE(bad.find("shard 2 of 2"), std::string::npos) << bad;
}

TEST_F(DataSrc, ShuffleIsDeterministicBySeed) {
  Scratch scratch;
  const std::string dir = media_dir();
  const std::vector<std::string> entries{kClipA, kClipB, kClipC, dir + "/./grid_s1_bbal8p.mpg"};
  std::string list;
  for (const std::string& e : entries) list += e + "\n";
  const std::string manifest = scratch.write("m.txt", list);
  const auto order = [&](const std::string& more) {
    DataRun r(props(manifest, "epochs=3 " + more));
    EXPECT_TRUE(r.run()) << r.error;
    EXPECT_EQ(DataRun::epochs(r.audio), DataRun::epochs(r.video));
    return DataRun::epochs(r.video);
  };
  const auto seven = order("seed=7");
  ASSERT_EQ(seven.size(), 3u);
  const std::multiset<std::string> everything(entries.begin(), entries.end());
  for (const auto& epoch : seven) EXPECT_EQ(std::multiset<std::string>(epoch.begin(), epoch.end()), everything);
  EXPECT_NE(seven[0], seven[1]);      // a fresh order each epoch
  EXPECT_EQ(order("seed=7"), seven);  // the same order again
  EXPECT_NE(order("seed=8"), seven);
  const auto plain = order("shuffle=false");
  for (const auto& epoch : plain) EXPECT_EQ(epoch, entries);
}

TEST_F(DataSrc, AudioRateComesFromDownstreamOrTheProperty) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", kClipA + "\n");
  const auto rate_of = [](const DataRun& r) {
    for (const Item& i : r.audio)
      if (i.kind == Item::Caps) {
        gint rate = 0;
        gst_structure_get_int(gst_caps_get_structure(i.caps, 0), "rate", &rate);
        return rate;
      }
    return 0;
  };
  DataRun asked(props(manifest, ""), "audio/x-raw,rate=22050 !");
  ASSERT_TRUE(asked.run()) << asked.error;
  EXPECT_EQ(rate_of(asked), 22050);
  DataRun set(props(manifest, "rate=8000"));
  ASSERT_TRUE(set.run()) << set.error;
  EXPECT_EQ(rate_of(set), 8000);
  // 3 s of audio at that rate, in F32.
  size_t bytes = 0;
  for (const Item& i : set.audio)
    if (i.kind == Item::Buffer) bytes += i.size;
  EXPECT_NEAR(static_cast<double>(bytes) / sizeof(float) / 8000, 3.0, 0.1);
}

// GRID's .mpg files carry an SCR that jumps by ~236 ms mid-file, at different moments in the
// audio and the video; decoded by PTS (mpegpsdemux ignore-scr) the file is 3.0 s of both,
// without a gap.
TEST_F(DataSrc, MpegProgramStreamHasAContinuousTimeline) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", media("grid_s1_bbal8p.mpg") + "\n");
  DataRun r(props(manifest, "rate=16000"));
  ASSERT_TRUE(r.run()) << r.error;
  for (const auto* items : {&r.audio, &r.video}) {
    GstClockTime end = 0;
    int buffers = 0;
    for (const Item& i : *items) {
      if (i.kind != Item::Buffer) continue;
      ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(i.pts) && GST_CLOCK_TIME_IS_VALID(i.duration));
      if (buffers++ > 0) {
        EXPECT_LE(i.pts, end + GST_MSECOND) << "a gap before " << i.pts << " ns";
      }
      end = i.pts + i.duration;
    }
    EXPECT_NEAR(static_cast<double>(end) / GST_SECOND, 3.0, 0.03) << (items == &r.audio ? "audio" : "video");
  }
  size_t bytes = 0, frames = 0;
  for (const Item& i : r.audio) bytes += i.kind == Item::Buffer ? i.size : 0;
  for (const Item& i : r.video) frames += i.kind == Item::Buffer;
  EXPECT_NEAR(static_cast<double>(bytes) / sizeof(float) / 16000, 3.0, 0.03);
  EXPECT_EQ(frames, 75u);
}

// face-track=true: each file's frames carry the faces the tracker found (one GRID speaker:
// one face in every frame), from the cache too; without it, none.
TEST_F(DataSrc, FaceTrackPutsTheFacesOnTheFrames) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", kClipA + "\n" + kClipC + "\n");
  for (const bool track : {true, false}) {
    DataRun r(
        props(manifest, std::string("short-side=0 rate=16000 epochs=2 face-track=") + (track ? "true" : "false")));
    ASSERT_TRUE(r.run()) << r.error;
    size_t frames = 0;
    for (const Item& i : r.video) {
      if (i.kind != Item::Buffer) continue;
      ++frames;
      EXPECT_EQ(i.faces, track ? 1 : 0);
    }
    EXPECT_EQ(frames, 4 * 75u);
  }
}

TEST_F(DataSrc, MissingOrUselessManifestIsAnError) {
  const std::string missing = start_error("manifest=/nonexistent/avts/train.txt");
  EXPECT_NE(missing.find("/nonexistent/avts/train.txt"), std::string::npos) << missing;

  const std::string unset = start_error("");
  EXPECT_NE(unset.find("manifest"), std::string::npos) << unset;

  // Only unusable files: each is skipped, then the source says that nothing was left.
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", scratch.dir() + "/a.mp4\n" + scratch.dir() + "/b.mp4\n");
  DataRun useless(props(manifest, "epochs=2"));
  EXPECT_FALSE(useless.run());
  EXPECT_NE(useless.error.find("None of the 2 files"), std::string::npos) << useless.error;
  EXPECT_EQ(useless.warnings.size(), 2u);
}

TEST_F(DataSrc, StopsPromptlyMidRunAndRunsAgain) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", kClipA + "\n" + kClipB + "\n");
  DataRun r(props(manifest, "epochs=1000 cache-size=0"));  // decodes all the time
  gst_element_set_state(r.pipeline, GST_STATE_PLAYING);
  // Mid-run: a file decoded already (slow under sanitizers), the next one decoding.
  for (const gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
       r.stat("decoded") == 0 && g_get_monotonic_time() < deadline;)
    g_usleep(20 * 1000);
  const gint64 start = g_get_monotonic_time();
  EXPECT_EQ(gst_element_set_state(r.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  EXPECT_LT(g_get_monotonic_time() - start, 2 * G_USEC_PER_SEC);  // a decode in progress is cancelled
  EXPECT_GT(r.stat("decoded"), 0u);

  // The same element again, from the start, to EOS.
  g_object_set(r.src, "epochs", 1u, nullptr);
  r.clear();
  ASSERT_TRUE(r.run()) << r.error;
  EXPECT_EQ(DataRun::epochs(r.video).size(), 1u);
  EXPECT_EQ(int_field(DataRun::marks(r.video).front()->fields, "epoch"), 0);
}

TEST_F(DataSrc, FirstEpochGoesOnWhereAResumedRunStopped) {
  Scratch scratch;
  const std::string manifest =
      scratch.write("m.txt", kClipA + "\n" + kClipC + " val\n" + kClipB + " train\n" + kClipC + "\n");
  DataRun whole(props(manifest, "epochs=3 seed=7"));
  ASSERT_TRUE(whole.run()) << whole.error;
  DataRun resumed(props(manifest, "epochs=3 seed=7 first-epoch=1"));
  ASSERT_TRUE(resumed.run()) << resumed.error;

  // Epochs 2 and 3 in the whole run's order, the validation file first in the first one sent.
  const auto all = DataRun::epochs(whole.audio), later = DataRun::epochs(resumed.audio);
  ASSERT_EQ(all.size(), 3u);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].front(), kClipC);
  EXPECT_EQ(std::vector<std::string>(later[0].begin() + 1, later[0].end()), all[1]);
  EXPECT_EQ(later[1], all[2]);
  const auto marks = DataRun::marks(resumed.video);
  EXPECT_EQ(int_field(marks.front()->fields, "epoch"), 1);
  EXPECT_EQ(int_field(marks.front()->fields, "epochs"), 3);
  EXPECT_EQ(int_field(marks.back()->fields, "epoch"), 2);

  const std::string none = start_error(props(manifest, "epochs=3 first-epoch=3"));
  EXPECT_NE(none.find("first-epoch 3 is not below epochs 3"), std::string::npos) << none;
}

TEST_F(DataSrc, SeveralDecodersSendTheSameFilesInTheSameOrder) {
  Scratch scratch;
  const std::string missing = scratch.dir() + "/missing.mp4";
  // The missing file twice: both lines decode at once with three decoders, one is reported.
  const std::string manifest = scratch.write(
      "m.txt", kClipA + "\n" + missing + "\n" + missing + "\n" + kClipB + "\n" + kClipC + "\n" + kClipA + " val\n");
  DataRun one(props(manifest, "epochs=2 cache-size=0 seed=3 shuffle=false"));
  ASSERT_TRUE(one.run()) << one.error;
  DataRun three(props(manifest, "epochs=2 cache-size=0 seed=3 shuffle=false decoders=3"));
  ASSERT_TRUE(three.run()) << three.error;
  guint decoders = 0;
  g_object_get(three.src, "decoders", &decoders, nullptr);
  EXPECT_EQ(decoders, 3u);

  const auto buffers = [](const std::vector<Item>& items) {
    std::vector<std::pair<GstClockTime, size_t>> out;
    for (const Item& i : items)
      if (i.kind == Item::Buffer) out.emplace_back(i.running_time, i.size);
    return out;
  };
  EXPECT_EQ(DataRun::epochs(three.audio), DataRun::epochs(one.audio));
  EXPECT_EQ(buffers(three.audio), buffers(one.audio));
  EXPECT_EQ(buffers(three.video), buffers(one.video));
  EXPECT_EQ(three.stat("decoded"), 7u);  // 4 files, then 3 training files again
  EXPECT_EQ(three.stat("skipped"), 1u);  // the missing file, once
  EXPECT_EQ(one.stat("skipped"), 1u);
  ASSERT_EQ(three.warnings.size(), 1u);
  EXPECT_EQ(field(three.warnings[0], "input"), missing);
}
