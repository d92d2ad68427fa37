// Training manifests (shared by `avts train` and avtsdatasrc): parsing with comments, split
// tags and bad lines; shards disjoint and covering; each epoch's order; and the byte budget of
// the decoded-file cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "avts/decoded_cache.h"
#include "avts/error.h"
#include "avts/manifest.h"

using namespace avts;

namespace {

class ManifestFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/avts-manifest-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::remove(path().c_str());
    rmdir(dir_.c_str());
  }
  std::string path() const { return dir_ + "/m.txt"; }
  Manifest read(const std::string& text) {
    std::ofstream(path()) << text;
    return read_manifest(path());
  }
  std::string dir_;
};

std::vector<ManifestEntry> entries(int n, int validation_every = 0) {
  std::vector<ManifestEntry> out;
  for (int i = 0; i < n; ++i)
    out.push_back({"/m/" + std::to_string(i) + ".mp4",
                   validation_every && i % validation_every == 0 ? Split::Validation : Split::Auto, i + 1});
  return out;
}

std::vector<std::string> inputs(const std::vector<ManifestEntry>& e) {
  std::vector<std::string> out;
  for (const ManifestEntry& x : e) out.push_back(x.input);
  return out;
}

}  // namespace

TEST_F(ManifestFile, ParsesPathsTagsAndComments) {
  const Manifest m = read(
      "# header\n"
      "\n"
      "   /abs/a.mp4\n"
      "rel/b.mkv train\n"
      "file:///c%20d.webm   val   # trailing words are a comment\n"
      "https://example.org/e.mp4 validation\n"
      "f.mp4 auto #x y z\n");
  ASSERT_TRUE(m.bad_lines.empty()) << m.bad_lines[0];
  ASSERT_EQ(m.entries.size(), 5u);
  EXPECT_EQ(m.entries[0].input, "/abs/a.mp4");
  EXPECT_EQ(m.entries[0].split, Split::Auto);
  EXPECT_EQ(m.entries[0].line, 3);
  EXPECT_EQ(m.entries[1].input, dir_ + "/rel/b.mkv");  // from the manifest's folder
  EXPECT_EQ(m.entries[1].split, Split::Train);
  EXPECT_EQ(m.entries[2].input, "file:///c%20d.webm");  // URIs stay as they are
  EXPECT_EQ(m.entries[2].split, Split::Validation);
  EXPECT_EQ(m.entries[3].input, "https://example.org/e.mp4");
  EXPECT_EQ(m.entries[3].split, Split::Validation);
  EXPECT_EQ(m.entries[4].split, Split::Auto);
  EXPECT_EQ(m.entries[4].line, 7);
}

TEST_F(ManifestFile, BadLinesAreListedWithTheirNumberAndWhy) {
  const Manifest m = read("a.mp4\nb.mp4 sideways\nc.mp4 train extra\nd.mp4\n");
  EXPECT_EQ(inputs(m.entries), (std::vector<std::string>{dir_ + "/a.mp4", dir_ + "/d.mp4"}));
  ASSERT_EQ(m.bad_lines.size(), 2u);
  EXPECT_EQ(m.bad_lines[0].rfind("2: ", 0), 0u) << m.bad_lines[0];
  EXPECT_NE(m.bad_lines[0].find("sideways"), std::string::npos) << m.bad_lines[0];
  EXPECT_EQ(m.bad_lines[1].rfind("3: ", 0), 0u) << m.bad_lines[1];
  EXPECT_NE(m.bad_lines[1].find("3 columns"), std::string::npos) << m.bad_lines[1];
}

TEST_F(ManifestFile, UnreadableManifestIsAnError) {
  try {
    read_manifest(dir_ + "/none.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("none.txt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_manifest(dir_), Error);  // a folder
}

TEST(Manifest, ShardsAreDisjointCoveringAndEven) {
  const auto all = entries(11);
  std::multiset<std::string> seen;
  for (int shard = 0; shard < 3; ++shard) {
    const auto part = manifest_shard(all, shard, 3);
    EXPECT_GE(part.size(), 3u);
    EXPECT_LE(part.size(), 4u);
    for (const ManifestEntry& e : part) {
      EXPECT_EQ((e.line - 1) % 3, shard);  // entry i goes to shard i % 3
      seen.insert(e.input);
    }
  }
  const auto names = inputs(all);
  EXPECT_EQ(seen, std::multiset<std::string>(names.begin(), names.end()));
  EXPECT_EQ(inputs(manifest_shard(all, 0, 1)), names);
  EXPECT_THROW(manifest_shard(all, 3, 3), Error);
  EXPECT_THROW(manifest_shard(all, 0, 0), Error);
}

TEST(Manifest, EpochOrderPutsValidationFirstAndShufflesBySeedAndEpoch) {
  const auto all = entries(9, /*validation_every=*/4);  // 0, 4 and 8 are validation
  const auto plain = inputs(epoch_order(all, 0, 1, /*shuffle=*/false, /*with_validation=*/true));
  EXPECT_EQ(plain, (std::vector<std::string>{"/m/0.mp4", "/m/4.mp4", "/m/8.mp4", "/m/1.mp4", "/m/2.mp4", "/m/3.mp4",
                                             "/m/5.mp4", "/m/6.mp4", "/m/7.mp4"}));
  EXPECT_EQ(epoch_order(all, 1, 1, false, /*with_validation=*/false).size(), 6u);

  const auto e0 = inputs(epoch_order(all, 0, 7, true, false));
  EXPECT_EQ(e0, inputs(epoch_order(all, 0, 7, true, false)));  // deterministic
  EXPECT_NE(e0, inputs(epoch_order(all, 1, 7, true, false)));  // another epoch, another order
  EXPECT_NE(e0, inputs(epoch_order(all, 0, 8, true, false)));  // another seed, another order
  std::vector<std::string> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"/m/1.mp4", "/m/2.mp4", "/m/3.mp4", "/m/5.mp4", "/m/6.mp4", "/m/7.mp4"}));
  // Validation entries keep their manifest order ahead of the shuffled ones.
  const auto with = inputs(epoch_order(all, 0, 7, true, true));
  EXPECT_EQ(std::vector<std::string>(with.begin(), with.begin() + 3),
            (std::vector<std::string>{"/m/0.mp4", "/m/4.mp4", "/m/8.mp4"}));
  EXPECT_EQ(std::vector<std::string>(with.begin() + 3, with.end()), e0);
}

TEST(DecodedCache, KeepsWhatFitsAndNeverEvicts) {
  DecodedCache<std::string> cache(100);
  EXPECT_TRUE(cache.insert("a", "A", 60));
  EXPECT_FALSE(cache.fits(50));
  EXPECT_FALSE(cache.insert("b", "B", 50));  // over the budget: not kept, "a" stays
  EXPECT_TRUE(cache.insert("c", "C", 40));   // exactly fills it
  EXPECT_FALSE(cache.insert("a", "A2", 0));  // one entry per key
  ASSERT_NE(cache.find("a"), nullptr);
  EXPECT_EQ(*cache.find("a"), "A");
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.bytes(), 100u);
  DecodedCache<int> none(0);
  EXPECT_FALSE(none.insert("x", 1, 1));
}
