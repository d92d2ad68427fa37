"""End-to-end: `avts train` on the real test clips, with bad manifest lines skipped and counted.

Run by meson with AVTS_TOOL (the avts binary), AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ENV = dict(os.environ, AVTS_THREADS="2")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def avts(*args, check=True, cwd=None):
    p = subprocess.run([AVTS, *args], capture_output=True, text=True, timeout=300, env=ENV, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"avts {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class AvtsTrain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.wav = os.path.join(d, "tone.wav")  # audio only: no video track
        subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", "num-buffers=100", "!", "wavenc", "!",
                        "filesink", f"location={cls.wav}"], check=True, timeout=60)
        cls.manifest = os.path.join(d, "manifest.txt")
        with open(cls.manifest, "w") as f:
            f.write("# two training files, one validation file, and three that cannot be used\n\n")
            f.write(f"{MEDIA}/grid_s1_bbal8p.mpg train\n")
            f.write(f"{MEDIA}/grid_s1_lgas2n.mpg   train  # trailing comment\n")
            f.write(f"{MEDIA}/grid_s4_bgbu1p.webm val\n")
            f.write(f"{d}/missing.mp4\n")
            f.write("tone.wav\n")  # relative to the manifest's folder
            f.write(f"{MEDIA}/grid_s1_bbal8p.mpg sideways\n")  # unknown split tag
        cls.model = os.path.join(d, "trained.avts")
        cls.result = avts("train", cls.manifest, "-o", cls.model, "--epochs", "2", "--batch-size", "4",
                          "--seed", "5", "--preset", "avts-compact")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_trains_and_writes_a_loadable_model(self):
        info = json.loads(avts("info", "--json", self.model).stdout)
        self.assertEqual(info["preset"], "avts-compact")
        prov = info["provenance"]
        self.assertEqual(prov["trained"], "yes")
        self.assertEqual(prov["epochs"], "2")
        self.assertEqual(prov["batch_size"], "4")
        self.assertEqual(prov["seed"], "5")
        self.assertEqual(prov["train_files_last_epoch"], "2")
        self.assertEqual(prov["validation_files"], "1")
        self.assertIn("avts train", prov["command"])
        self.assertGreater(int(prov["steps"]), 0)
        # The threshold was fitted on the validation file and saved in the model.
        fitted = float(re.search(r"threshold ([0-9.]+)", self.result.stdout).group(1))
        self.assertAlmostEqual(info["threshold"], fitted, places=3)
        self.assertNotEqual(info["threshold"], 0.5)  # the untrained preset's
        self.assertTrue(os.path.exists(self.model + ".ckpt"))

    def test_summary_and_progress(self):
        out, err = self.result.stdout, self.result.stderr
        self.assertIn("trained 2 epochs", out)
        self.assertRegex(out, r"validation: \d+ clips, accuracy easy \S+, hard [0-9.]+")
        self.assertRegex(err, r"epoch 2/2 done \(stage 1\) step \d+ loss [0-9.]+ .* pairs/s  ETA")

    def test_bad_inputs_are_skipped_and_counted(self):
        out, err = self.result.stdout, self.result.stderr
        self.assertIn("files: 6 inputs, 3 skipped", out)
        self.assertRegex(err, r"skipping \S+manifest.txt line 8: unknown split 'sideways'")
        self.assertRegex(err, r"skipping \S+missing.mp4: .*no such file")
        self.assertRegex(err, r"skipping \S+tone.wav: .*has no video track")
        # Each bad input is reported once, not once per epoch.
        self.assertEqual(err.count("missing.mp4: "), 1)

    def test_resume_continues_the_run(self):
        model = os.path.join(self.tmp.name, "resumed.avts")
        # The same command as the run's (its --preset too), with --resume.
        p = avts("train", self.manifest, "-o", model, "--epochs", "3", "--batch-size", "4", "--seed", "5",
                 "--preset", "avts-compact", "--resume", self.model + ".ckpt",
                 "--checkpoint", os.path.join(self.tmp.name, "r.ckpt"))
        self.assertIn("trained 3 epochs (1 in this run)", p.stdout)
        self.assertEqual(json.loads(avts("info", "--json", model).stdout)["provenance"]["epochs"], "3")

    def test_stop_saves_the_run_and_resume_finishes_it(self):
        # SIGINT mid-run: the pipeline stops, avtstrain saves the trainer state, exit 130.
        model = os.path.join(self.tmp.name, "stopped.avts")
        p = subprocess.Popen([AVTS, "train", self.manifest, "-o", model, "--epochs", "200", "--batch-size", "4",
                              "--seed", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        seen = []
        for line in p.stderr:  # not a terminal: a line per epoch
            seen.append(line)
            if "epoch 1/200 done" in line:
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        err = "".join(seen) + err
        self.assertEqual(p.returncode, 130, err)
        m = re.search(r"stopped by SIGINT in epoch (\d+)/200 at step \d+; saved the trainer state to (\S+)\. "
                      r"Continue with the same command and --resume", err)
        self.assertTrue(m, err)
        self.assertEqual(m.group(2), model + ".ckpt")
        # The interrupted epoch is trained again from its first file.
        epoch = int(m.group(1))
        p = avts("train", self.manifest, "-o", model, "--epochs", str(epoch), "--batch-size", "4", "--seed", "5",
                 "--resume", model + ".ckpt")
        self.assertIn(f"trained {epoch} epochs (1 in this run)", p.stdout)
        self.assertEqual(json.loads(avts("info", "--json", model).stdout)["provenance"]["epochs"], str(epoch))

    def test_decoding_ahead_does_not_change_the_run(self):
        # Files decode on worker threads but reach the trainer in the same order: the same model.
        manifest = os.path.join(self.tmp.name, "four.txt")
        with open(manifest, "w") as f:
            for name in ["grid_s1_bbal8p.mpg", "grid_s1_lgas2n.mpg", "grid_s2_bbil4a.webm", "grid_s4_bgbu1p.webm"]:
                f.write(f"{MEDIA}/{name}\n")
        # (The model ids differ: the provenance records each command line. The weights must not.)
        features = []
        for ahead in ["1", "3"]:
            model = os.path.join(self.tmp.name, f"ahead{ahead}.avts")
            avts("train", manifest, "-o", model, "--epochs", "1", "--batch-size", "4", "--decode-ahead", ahead)
            for modality in ["audio", "video"]:
                npy = os.path.join(self.tmp.name, f"ahead{ahead}-{modality}.npy")
                avts("features", f"{MEDIA}/grid_s1_bbal8p.mpg", "--model", model, "--modality", modality, "-o", npy)
                with open(npy, "rb") as f:
                    features.append(f.read())
        self.assertEqual(features[:2], features[2:])
        p = avts("train", manifest, "-o", model, "--decode-ahead", "0", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--decode-ahead must be in 1..64", p.stderr)

    def test_option_outside_the_elements_range_is_an_error(self):
        # Not quietly replaced by avtstrain's default, as g_object_set would.
        p = avts("train", self.manifest, "-o", self.model + ".t", "--loss", "multi-way", "--temperature", "5",
                 check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--temperature 5 is outside the range avtstrain takes (0.001 to 2)", p.stderr)
        self.assertFalse(os.path.exists(self.model + ".t"))
        # Augmentations out of range, negative ones too, are refused, not taken as "not given".
        for flag, value, message in [("--zoom", "0.5", "zoom must be in [1, 4]"),
                                     ("--zoom", "-1", "zoom must be in [1, 4]"),
                                     ("--drift", "-1", "drift must be in [0, 16] pixels per frame"),
                                     ("--drift", "17", "drift must be in [0, 16] pixels per frame"),
                                     ("--blur", "-1", "blur must be in [0, 4] pixels"),
                                     ("--blur", "5", "blur must be in [0, 4] pixels"),
                                     ("--noise-snr", "-20", "noise_snr_db must be at least -10 dB")]:
            p = avts("train", self.manifest, "-o", self.model + ".t", flag, value, check=False)
            self.assertEqual(p.returncode, 2, (flag, value))
            self.assertIn(message, p.stderr)
            self.assertFalse(os.path.exists(self.model + ".t"))

    def test_dist_backend_is_checked_before_training(self):
        # NCCL is for models on GPUs (and builds that have it); unknown names list the known ones.
        p = avts("train", self.manifest, "-o", self.model + ".n", "--dist-backend", "nccl", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("distributed backend nccl", p.stderr)
        p = avts("train", self.manifest, "-o", self.model + ".n", "--dist-backend", "mpi", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown distributed backend 'mpi' (known: auto, gloo, nccl)", p.stderr)
        self.assertFalse(os.path.exists(self.model + ".n"))

    def test_missing_manifest_is_an_error(self):
        p = avts("train", os.path.join(self.tmp.name, "nope.txt"), "-o", self.model + ".x", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read manifest", p.stderr)
        self.assertIn("nope.txt", p.stderr)
        self.assertFalse(os.path.exists(self.model + ".x"))

    def test_manifest_without_usable_files_is_an_error(self):
        bad = os.path.join(self.tmp.name, "only_bad.txt")
        with open(bad, "w") as f:
            f.write(f"{self.wav}\n{self.tmp.name}/missing.mp4 train\n")
        p = avts("train", bad, "-o", os.path.join(self.tmp.name, "none.avts"), "--epochs", "1", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("None of the 2 files of manifest", p.stderr)
        self.assertIn("could be used", p.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AvtsTrainDataParallel(unittest.TestCase):
    """Two ranks launched as torchrun launches them (RANK, WORLD_SIZE, MASTER_ADDR/PORT), on
    loopback: each trains on its shard, and they end with the same model, written by rank 0."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.manifest = os.path.join(d, "manifest.txt")
        with open(cls.manifest, "w") as f:  # lines 1, 3 go to rank 0; 2, 4 to rank 1
            for name in ["grid_s1_bbal8p.mpg", "grid_s1_lgas2n.mpg", "grid_s2_bbil4a.webm", "grid_s4_bgbu1p.webm"]:
                f.write(f"{MEDIA}/{name} train\n")
        cls.model = os.path.join(d, "dp.avts")
        port = str(free_port())
        ranks = []
        for rank in range(2):
            env = dict(ENV, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                       MASTER_PORT=port)
            ranks.append(subprocess.Popen([AVTS, "train", cls.manifest, "-o", cls.model, "--epochs", "1",
                                           "--batch-size", "4", "--seed", "3", "--preset", "avts-compact"],
                                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        cls.out = []
        for p in ranks:
            try:
                out, err = p.communicate(timeout=240)
            except subprocess.TimeoutExpired:
                for q in ranks:
                    q.kill()
                raise
            cls.out.append((p.returncode, out, err))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_both_ranks_finish_with_the_same_model(self):
        for rank, (code, out, err) in enumerate(self.out):
            self.assertEqual(code, 0, f"rank {rank}:\n{out}\n{err}")
        ids = [re.search(r"id ([0-9a-f]{16})", out).group(1) for _, out, _ in self.out]
        self.assertEqual(ids[0], ids[1])
        info = json.loads(avts("info", "--json", self.model).stdout)
        self.assertEqual(info["model_id"], ids[0])
        self.assertEqual(info["provenance"]["world_size"], "2")
        self.assertEqual(info["provenance"]["train_files_last_epoch"], "4")  # both shards

    def test_each_rank_reads_its_shard(self):
        for rank, (_, out, _) in enumerate(self.out):
            self.assertIn(f"files: 2 inputs in the shard of rank {rank} of 2, 0 skipped", out)

    def test_only_rank_0_writes_and_shows_progress(self):
        (_, out0, err0), (_, out1, err1) = self.out
        self.assertIn(f"wrote {self.model}", out0)
        self.assertIn("written by rank 0", out1)
        self.assertRegex(err0, r"epoch 1/1 done")
        self.assertNotIn("epoch 1/1", err1)
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["dp.avts", "dp.avts.ckpt", "manifest.txt"])

    def test_slurm_batch_script(self):
        # train/distributed/slurm.sbatch under stand-ins for srun (two tasks, with the variables
        # Slurm sets) and scontrol (the allocation's first node).
        bin_dir = os.path.join(self.tmp.name, "slurm-bin")
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, "scontrol"), "w") as f:
            f.write("#!/bin/sh\necho 127.0.0.1\n")
        with open(os.path.join(bin_dir, "srun"), "w") as f:
            f.write("#!/bin/sh\nshift  # --kill-on-bad-exit\n"
                    "for i in 0 1; do\n"
                    "  SLURM_NTASKS=2 SLURM_PROCID=$i SLURM_LOCALID=$i \"$@\" > \"$SRUN_LOG.$i\" 2>&1 &\n"
                    "  pids=\"$pids $!\"\n"
                    "done\n"
                    "for p in $pids; do wait $p || exit 1; done\n")
        for name in ["scontrol", "srun"]:
            os.chmod(os.path.join(bin_dir, name), 0o755)
        model = os.path.join(self.tmp.name, "slurm", "model.avts")
        os.makedirs(os.path.dirname(model))
        log = os.path.join(self.tmp.name, "srun.log")
        env = dict(ENV, PATH=bin_dir + os.pathsep + os.environ["PATH"], AVTS=AVTS, DEVICE="cpu", SRUN_LOG=log,
                   SLURM_JOB_NODELIST="node0", SLURM_CPUS_PER_TASK="1", MASTER_PORT=str(free_port()))
        script = os.path.join(ROOT, "train", "distributed", "slurm.sbatch")
        p = subprocess.run(["bash", script, self.manifest, model, "--epochs", "1", "--batch-size", "4"],
                           capture_output=True, text=True, timeout=240, env=env)
        outputs = []
        for i in range(2):
            with open(f"{log}.{i}") as f:
                outputs.append(f.read())
        self.assertEqual(p.returncode, 0, p.stderr + "\n".join(outputs))
        self.assertIn("files: 2 inputs in the shard of rank 1 of 2", outputs[1])
        info = json.loads(avts("info", "--json", model).stdout)
        self.assertEqual(info["provenance"]["world_size"], "2")

    def test_bad_launch_environment_is_an_error(self):
        out = os.path.join(self.tmp.name, "never.avts")
        for env, message in [({"RANK": "2", "WORLD_SIZE": "2"}, "rank 2 is not below the world size 2"),
                             ({"RANK": "0", "WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not a non-negative integer"),
                             ({"RANK": "0", "WORLD_SIZE": "5"}, "lists 4 media files for 5 ranks")]:
            p = subprocess.run([AVTS, "train", self.manifest, "-o", out, "--epochs", "1"], capture_output=True,
                               text=True, timeout=60, env=dict(ENV, **env))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(message, p.stderr)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
