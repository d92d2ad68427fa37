"""End-to-end: libavts as installed serves a C++ application through pkg-config.

`meson install` into a scratch folder; a small program that includes the installed public
headers (no LibTorch on its include path) and links with `pkg-config --cflags --libs avts`
builds, loads the shipped model and reads the sync estimator's tolerance standard. Run by
meson with AVTS_BUILD_ROOT set.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

BUILD = os.environ["AVTS_BUILD_ROOT"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "avts-compact.avts")

APP = r"""
#include <avts/model.h>
#include <avts/sync_standard.h>

#include <cstdio>

int main(int argc, char** argv) {
  const auto model = avts::Model::load(argv[1]);
  std::printf("%s %d\n", model->config().preset.c_str(), model->config().embedding_dim);
  return 0;
}
"""


class InstalledLibrary(unittest.TestCase):
    def test_an_application_builds_and_runs_against_the_installed_library(self):
        with tempfile.TemporaryDirectory() as tmp:
            dest = os.path.join(tmp, "root")
            p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", dest],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            pc = [os.path.join(d, "avts.pc") for d, _, files in os.walk(dest) if "avts.pc" in files]
            self.assertEqual(len(pc), 1, pc)
            headers = [f for d, _, files in os.walk(dest) for f in files if f.endswith(".h")]
            self.assertIn("model.h", headers)
            self.assertNotIn("nets.h", headers)  # the LibTorch modules stay inside
            env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc[0]), PKG_CONFIG_SYSROOT_DIR=dest)
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "avts"], capture_output=True, text=True,
                                   env=env, check=True).stdout.split()
            source = os.path.join(tmp, "app.cpp")
            with open(source, "w") as f:
                f.write(APP)
            app = os.path.join(tmp, "app")
            cxx = os.environ.get("CXX", shutil.which("c++") or "g++")
            p = subprocess.run([cxx, "-std=c++17", source, "-o", app] + flags, capture_output=True, text=True,
                               timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            libdir = [f[2:] for f in flags if f.startswith("-L")]
            p = subprocess.run([app, MODEL], capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, LD_LIBRARY_PATH=":".join(libdir)))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.split(), ["avts-compact", "128"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
