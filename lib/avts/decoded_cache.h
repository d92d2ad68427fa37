// Decoded media kept in memory up to a byte budget, so that later epochs can feed a file
// again without decoding it again (avtsdatasrc keeps its decoded buffers). Entries are never evicted: every epoch
// visits every file, and with that cyclic access evicting the oldest entry would make every lookup miss. A full cache
// just takes no more.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>

namespace avts {

template <class Value>
class DecodedCache {
 public:
  explicit DecodedCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // The entry kept for `key`, or nullptr.
  const Value* find(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }

  // Whether an entry of `bytes` would still fit.
  bool fits(size_t bytes) const { return bytes <= budget_ - bytes_; }

  // Keeps `value` (which holds `bytes`) if it fits; returns whether it was kept.
  bool insert(const std::string& key, Value value, size_t bytes) {
    if (!fits(bytes) || entries_.count(key)) return false;
    entries_.emplace(key, std::move(value));
    bytes_ += bytes;
    return true;
  }

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  size_t budget() const { return budget_; }

 private:
  std::map<std::string, Value> entries_;
  size_t budget_;
  size_t bytes_ = 0;
};

}  // namespace avts
