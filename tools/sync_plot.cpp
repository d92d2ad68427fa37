#include "sync_plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "avts/error.h"

namespace avts {

namespace {

constexpr int kWidth = 1000, kHeight = 620;
constexpr double kLeft = 80, kRight = 30, kTop = 50;
constexpr double kOffsetHeight = 360, kGap = 50, kConfidenceHeight = 130;

// Maps data coordinates into one panel.
struct Panel {
  double x0, y0, w, h;  // pixels
  double t_min, t_max, v_min, v_max;
  double x(double t) const { return x0 + (t - t_min) / (t_max - t_min) * w; }
  double y(double v) const { return y0 + h - (v - v_min) / (v_max - v_min) * h; }
};

void text(cairo_t* cr, double x, double y, const std::string& s, double size = 12, bool right = false) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, right ? x - e.x_advance : x, y);
  cairo_show_text(cr, s.c_str());
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void frame_and_ticks(cairo_t* cr, const Panel& p, double v_step, const char* unit) {
  cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
  cairo_set_line_width(cr, 1);
  for (double v = std::ceil(p.v_min / v_step) * v_step; v <= p.v_max + 1e-9; v += v_step) {
    cairo_move_to(cr, p.x0, p.y(v));
    cairo_line_to(cr, p.x0 + p.w, p.y(v));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, p.x0 - 6, p.y(v) + 4, fmt("%g", v) + unit, 11, true);
    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
  }
  const double span = p.t_max - p.t_min;
  const double t_step = span > 600 ? 60 : span > 120 ? 20 : span > 30 ? 5 : span > 8 ? 1 : 0.5;
  for (double t = std::ceil(p.t_min / t_step) * t_step; t <= p.t_max + 1e-9; t += t_step) {
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, p.x(t) - 8, p.y0 + p.h + 16, fmt("%g", t), 11);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, p.x0, p.y0, p.w, p.h);
  cairo_stroke(cr);
}

}  // namespace

void write_sync_plot(const std::string& png_path, const std::vector<SyncPoint>& points, const SyncPlotInfo& info) {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, kWidth, kHeight), cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> owner(cairo_create(surface.get()), cairo_destroy);
  cairo_t* cr = owner.get();
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);

  double t_min = 0, t_max = 1, conf_max = 1;
  if (!points.empty()) {
    t_min = points.front().time_s;
    t_max = std::max(points.back().time_s, t_min + 1);
    for (const auto& p : points) conf_max = std::max(conf_max, p.confidence * 1.1);
  }
  const double range = std::max({info.max_offset_ms, info.tolerance_early_ms, info.tolerance_late_ms}) * 1.1;
  const Panel offset{kLeft, kTop, kWidth - kLeft - kRight, kOffsetHeight, t_min, t_max, -range, range};
  const Panel confidence{
      kLeft, kTop + kOffsetHeight + kGap, kWidth - kLeft - kRight, kConfidenceHeight, t_min, t_max, 0, conf_max};

  // Tolerance band: audio early up to +early, late down to -late.
  cairo_set_source_rgba(cr, 0.2, 0.7, 0.3, 0.18);
  cairo_rectangle(cr, offset.x0, offset.y(info.tolerance_early_ms), offset.w,
                  offset.y(-info.tolerance_late_ms) - offset.y(info.tolerance_early_ms));
  cairo_fill(cr);
  const double step = range > 1000 ? 500 : range > 400 ? 200 : range > 150 ? 50 : 20;
  frame_and_ticks(cr, offset, step, " ms");
  frame_and_ticks(cr, confidence, conf_max > 4 ? 1 : conf_max > 1.5 ? 0.5 : 0.25, "");

  // Searched range edges, dashed.
  const double dash[] = {4, 4};
  cairo_set_dash(cr, dash, 2, 0);
  cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
  for (double edge : {info.max_offset_ms, -info.max_offset_ms}) {
    cairo_move_to(cr, offset.x0, offset.y(edge));
    cairo_line_to(cr, offset.x0 + offset.w, offset.y(edge));
    cairo_stroke(cr);
  }
  if (info.has_global) {
    cairo_set_source_rgb(cr, 0.1, 0.3, 0.8);
    cairo_move_to(cr, offset.x0, offset.y(info.global_offset_ms));
    cairo_line_to(cr, offset.x0 + offset.w, offset.y(info.global_offset_ms));
    cairo_stroke(cr);
  }
  if (info.min_confidence > 0) {
    cairo_set_source_rgb(cr, 0.8, 0.3, 0.1);
    cairo_move_to(cr, confidence.x0, confidence.y(info.min_confidence));
    cairo_line_to(cr, confidence.x0 + confidence.w, confidence.y(info.min_confidence));
    cairo_stroke(cr);
  }
  cairo_set_dash(cr, nullptr, 0, 0);

  // Offsets: a line through conclusive reports, dots coloured by verdict.
  cairo_set_line_width(cr, 1.5);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  bool pen_down = false;
  for (const auto& p : points) {
    if (p.inconclusive) {
      pen_down = false;
      continue;
    }
    if (pen_down)
      cairo_line_to(cr, offset.x(p.time_s), offset.y(p.offset_ms));
    else
      cairo_move_to(cr, offset.x(p.time_s), offset.y(p.offset_ms));
    pen_down = true;
  }
  cairo_stroke(cr);
  for (const auto& p : points) {
    const bool inside = p.offset_ms <= info.tolerance_early_ms && p.offset_ms >= -info.tolerance_late_ms;
    if (p.inconclusive)
      cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    else if (inside && !p.out_of_range)
      cairo_set_source_rgb(cr, 0.1, 0.6, 0.2);
    else
      cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
    cairo_arc(cr, offset.x(p.time_s), offset.y(p.offset_ms), p.out_of_range ? 5 : 3, 0, 2 * M_PI);
    cairo_fill(cr);
  }

  // Confidence bars.
  const double bar = std::max(1.0, confidence.w / std::max<size_t>(points.size(), 1) * 0.7);
  for (const auto& p : points) {
    cairo_set_source_rgb(cr, p.inconclusive ? 0.7 : 0.3, p.inconclusive ? 0.7 : 0.45, p.inconclusive ? 0.7 : 0.75);
    cairo_rectangle(cr, confidence.x(p.time_s) - bar / 2, confidence.y(p.confidence), bar,
                    confidence.y(0) - confidence.y(p.confidence));
    cairo_fill(cr);
  }

  cairo_set_source_rgb(cr, 0, 0, 0);
  text(cr, kLeft, 22, info.title, 15);
  text(cr, kLeft, 40,
       "A/V offset (positive = audio early), " + info.standard + " tolerance +" + fmt("%g", info.tolerance_early_ms) +
           " / -" + fmt("%g", info.tolerance_late_ms) + " ms shaded" +
           (info.has_global ? ", whole-stream offset " + fmt("%+.0f", info.global_offset_ms) + " ms (blue)" : ""),
       11);
  text(cr, kLeft, confidence.y0 - 8, "confidence (median - min of the distance curve)", 11);
  text(cr, kWidth - kRight, kHeight - 8, "time (s)", 11, true);

  if (cairo_surface_write_to_png(surface.get(), png_path.c_str()) != CAIRO_STATUS_SUCCESS)
    throw Error("cannot write plot '" + png_path + "'");
}

}  // namespace avts
