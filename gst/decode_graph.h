// A private decode pipeline, shared by every path that decodes a whole file for avts (the
// avts command's MediaPipeline, avtsdatasrc's decoder):
//
//   uridecodebin (MPEG-PS SCR ignored) -> the first audio stream -> the audio branch
//                                      -> the first video stream -> the video branch
//                                      -> any other stream       -> fakesink (drained, never blocks)
//
// run() plays it to EOS as fast as it goes and turns what can go wrong into avts::Error: an
// element's error, or a branch whose stream never came ("has no audio track") or could not be
// linked ("cannot decode its video (caps)"), or a demuxer that found no stream at all.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <functional>
#include <string>
#include <vector>

namespace avts {

// A path or a URI -> a URI. Throws avts::Error ("no such file", "is a directory", ...).
std::string media_uri(const std::string& input);

// Creates an element or throws avts::Error naming the missing plugin.
GstElement* make_element(const char* factory, const char* name = nullptr);
// A capsfilter holding `caps` (e.g. "video/x-raw,format=RGB").
GstElement* make_caps_filter(const std::string& caps);
// An appsink that does not sync to the clock and hands each sample to `on_sample`.
GstElement* make_app_sink(GstFlowReturn (*on_sample)(GstAppSink*, gpointer), gpointer user_data,
                          const char* name = nullptr);

class DecodeGraph {
 public:
  // `uri` as media_uri() gives it; `name` names the pipeline.
  DecodeGraph(const std::string& uri, const char* name);
  ~DecodeGraph();  // stops the pipeline (joining its streaming threads) and frees it
  DecodeGraph(const DecodeGraph&) = delete;
  DecodeGraph& operator=(const DecodeGraph&) = delete;

  // Adds the elements of a branch and links them in order; the decoder's first stream of
  // `media` ("audio" or "video") feeds the first. `before_link`, if given, sees the stream's
  // caps first (to fix an output size from them). Call before run().
  void add_branch(const std::string& media, const std::vector<GstElement*>& elements,
                  std::function<void(GstCaps*)> before_link = {});

  // Plays to EOS. `tick` runs about every `poll` while nothing else happens (progress; a
  // false return stops with avts::Error("cancelled")). Throws avts::Error with the reason
  // alone (no file name: callers say which file).
  void run(GstClockTime poll = 200 * GST_MSECOND, const std::function<bool()>& tick = {});

  GstElement* pipeline() const { return pipeline_; }

 private:
  struct Branch {
    std::string media;
    GstElement* head = nullptr;
    std::function<void(GstCaps*)> before_link;
    bool linked = false;
    std::string refused;  // caps of a stream of this media that could not be linked
  };
  static void on_pad_added(GstElement* decoder, GstPad* pad, DecodeGraph* self);
  static void on_no_more_pads(GstElement* decoder, DecodeGraph* self);
  static void on_element_added(GstBin* decoder, GstBin* parent, GstElement* element, DecodeGraph* self);
  static void on_demuxer_done(GstElement* demuxer, DecodeGraph* self);

  GstElement* pipeline_ = nullptr;
  std::vector<Branch> branches_;
};

}  // namespace avts
