"""End-to-end: `avts probe` on generated sounds (a fake ESC-50 tree) and on the real test clips.

Run by meson with AVTS_TOOL (the avts binary), AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import subprocess
import tempfile
import unittest
import wave

import numpy as np

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ENV = dict(os.environ, AVTS_THREADS="2")
ENV.pop("AVTS_MEDIA", None)


def avts(*args, check=True, env=ENV):
    p = subprocess.run([AVTS, *args], capture_output=True, text=True, timeout=300, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"avts {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def write_wav(path, samples, rate=16000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def sound(kind, rng, seconds=1.5, rate=16000):
    """A tone at a random pitch and level, or noise at a random level: easy to tell apart
    from log-mel spectra even through an untrained network."""
    t = np.arange(int(seconds * rate)) / rate
    level = rng.uniform(0.1, 0.5)
    if kind == "tone":
        return level * np.sin(2 * np.pi * rng.uniform(200, 3000) * t)
    return level * rng.standard_normal(t.size) / 3


class AvtsProbe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.model = os.path.join(d, "compact.avts")
        avts("init", "--preset", "avts-compact", "--seed", "1", "-o", cls.model)
        cls.info = json.loads(avts("info", "--json", cls.model).stdout)
        # A fake ESC-50 tree: 2 categories x 2 clips in each of the 5 official folds.
        cls.esc50 = os.path.join(d, "ESC-50")
        os.makedirs(os.path.join(cls.esc50, "meta"))
        os.makedirs(os.path.join(cls.esc50, "audio"))
        rng = np.random.default_rng(0)
        with open(os.path.join(cls.esc50, "meta", "esc50.csv"), "w") as f:
            f.write("filename,fold,target,category,esc10,src_file,take\n")
            for fold in range(1, 6):
                for target, category in enumerate(("tone", "noise")):
                    for take in "AB":
                        name = f"{fold}-{100 + target}-{take}-{target}.wav"
                        write_wav(os.path.join(cls.esc50, "audio", name), sound(category, rng))
                        f.write(f"{name},{fold},{target},{category},False,{100 + target},{take}\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def test_esc50_layout_with_its_five_folds(self):
        r = json.loads(avts("probe", "--esc50", self.esc50, "-m", self.model, "--json").stdout)
        self.assertEqual(r["fold_source"], "esc50")
        self.assertEqual(r["clips"], 20)
        self.assertEqual(r["classes"], {"noise": 10, "tone": 10})
        self.assertEqual(r["modality"], "audio")
        self.assertAlmostEqual(r["majority_accuracy"], 0.5)
        [row] = r["results"]
        self.assertEqual((row["network"], row["layer"]), ("model", "embedding"))
        self.assertEqual(row["dim"], self.info["dims"]["audio"]["embedding"])
        self.assertEqual(row["model_id"], self.info["model_id"])
        self.assertEqual([f["fold"] for f in row["folds"]], [1, 2, 3, 4, 5])
        self.assertTrue(all(f["test"] == 4 and f["train"] == 16 and f["C"] == 1 for f in row["folds"]))
        # Tone against noise: far above the 50 % of chance, even with untrained features.
        self.assertGreaterEqual(row["mean_accuracy"], 0.9)
        self.assertAlmostEqual(row["mean_accuracy"], np.mean([f["accuracy"] for f in row["folds"]]))

    def test_manifest_without_folds_gets_stratified_folds_and_a_table(self):
        lines = [f"{self.esc50}/audio/{n} {n.split('-')[1]}" for n in sorted(os.listdir(f"{self.esc50}/audio"))]
        manifest = self.write("tones.txt", "# generated tones (101) and noise (100)\n" + "\n".join(lines) + "\n")
        p = avts("probe", manifest, "-m", self.model, "--folds", "4", "--C", "auto", "--layer", "embedding,layer2")
        text = p.stdout
        self.assertIn("20 clips, 2 classes (100 10, 101 10), 4 folds stratified", text)
        self.assertIn("C per fold by inner 3-fold cross-validation", text)
        table = text.splitlines()
        table = table[next(i for i, line in enumerate(table) if line.startswith("network")):]
        self.assertEqual(table[0].split(), ["network", "layer", "dim", "fold", "1", "fold", "2", "fold", "3",
                                            "fold", "4", "mean", "std"])
        rows = {line.split()[1]: line.split() for line in table[1:]}
        self.assertEqual(set(rows), {"embedding", "layer2"})
        self.assertEqual(int(rows["layer2"][2]), self.info["dims"]["audio"]["layer2"])
        self.assertGreaterEqual(float(rows["embedding"][-2]), 90.0)

    def test_real_clips_both_modalities_layers_and_random_init(self):
        # Relative paths, resolved against $AVTS_MEDIA; 'lay' has one example.
        manifest = self.write("grid.tsv", "grid_s1_bbal8p.mpg bin\ngrid_s1_lgas2n.mpg lay\ngrid_s4_bgbu1p.webm bin\n")
        p = avts("probe", manifest, "-m", self.model, "--modality", "both", "--layer", "embedding,layer1",
                 "--pool", "mean+max", "--folds", "2", "--random-init", "--json",
                 env=dict(ENV, AVTS_MEDIA=MEDIA))
        self.assertIn("class 'lay' has one example", p.stderr)
        r = json.loads(p.stdout)
        dims = self.info["dims"]
        rows = {(x["network"], x["layer"]): x for x in r["results"]}
        self.assertEqual(rows[("random-init", "embedding")]["seed"], 1)  # the model's own, from its provenance
        self.assertEqual(set(rows), {(n, l) for n in ("model", "random-init") for l in ("embedding", "layer1")})
        for (network, layer), row in rows.items():
            self.assertEqual(row["dim"], 2 * (dims["audio"][layer] + dims["video"][layer]))  # mean+max
            self.assertEqual(sum(f["test"] for f in row["folds"]), 3)
        # Same preset, same seed: the random-init network has the untrained model's weights (its
        # id differs: the id covers the provenance too) and so gives the same results.
        random_id = rows[("random-init", "embedding")]["model_id"]
        self.assertNotEqual(random_id, self.info["model_id"])
        for layer in ("embedding", "layer1"):
            self.assertEqual(rows[("random-init", layer)]["folds"], rows[("model", layer)]["folds"])
        r = json.loads(avts("probe", manifest, "--root", MEDIA, "-m", self.model, "--folds", "2",
                            "--random-init", "--init-seed", "7", "--json").stdout)
        self.assertEqual([(x["network"], x.get("seed")) for x in r["results"]], [("model", None), ("random-init", 7)])
        self.assertNotEqual(r["results"][1]["model_id"], random_id)

    def test_errors_name_the_line(self):
        bad = self.write("bad.tsv", f"{MEDIA}/grid_s1_bbal8p.mpg bin 1\n# ok\n{MEDIA}/grid_s1_lgas2n.mpg\n")
        p = avts("probe", bad, "-m", self.model, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{bad}:3: expected 'PATH LABEL [FOLD]'", p.stderr)
        missing = self.write("missing.tsv", "nowhere.wav a\ntone.wav b\n")
        p = avts("probe", missing, "-m", self.model, "--folds", "2", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{missing}:1: ", p.stderr)
        self.assertIn("nowhere.wav': no such file", p.stderr)
        one_class = self.write("one.tsv", f"{MEDIA}/grid_s1_bbal8p.mpg bin\n{MEDIA}/grid_s1_lgas2n.mpg bin\n")
        p = avts("probe", one_class, "-m", self.model, check=False)
        self.assertIn("a probe needs at least 2 classes", p.stderr)
        p = avts("probe", "--esc50", self.esc50, "--folds", "3", "-m", self.model, check=False)
        self.assertIn("--folds applies only to manifests without a fold column", p.stderr)
        p = avts("probe", "--esc50", self.esc50, "--layer", "layer9", "-m", self.model, check=False)
        self.assertIn("unknown layer 'layer9'", p.stderr)


if __name__ == "__main__":
    unittest.main()
