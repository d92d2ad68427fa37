"""End-to-end: every gst-launch-1.0 pipeline in README.md and examples/*.sh, and the example programs.

Run by meson (suite e2e) with AVTS_TOOL, AVTS_TEST_MEDIA, AVTS_PYTHON and GST_PLUGIN_PATH set;
argv[1] is the built examples/sync_monitor.

How the documented pipelines are run: each `gst-launch-1.0 ...` line (with its backslash
continuations; commented lines are not pipelines) goes to `bash -c` in a scratch folder that
holds `model.avts` (an untrained model from `avts init`) and `tests/media` (a link to the
bundled clips), so `$PWD/tests/media/...` and `model-file=model.avts` work as written; the
shell variables the documents use are set: MODEL (that model), CLIP (a bundled clip) and OUT
(the scratch folder). `autoaudiosink` and `autovideosink` become `fakesink sync=true`, so the
lines meant for a sound card and a display run headless, at the same pace.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
PYTHON = os.environ.get("AVTS_PYTHON", "/usr/bin/python3")
SYNC_MONITOR = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "examples", "sync_monitor")
CLIP = os.path.join(MEDIA, "grid_s1_bbal8p.mpg")
WEBM = os.path.join(MEDIA, "grid_s4_bgbu1p.webm")
HEADLESS = {"autoaudiosink": "fakesink sync=true", "autovideosink": "fakesink sync=true"}
TIMEOUT = 180


def shell_lines(text):
    """Logical lines of shell text: backslash continuations joined."""
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    if current:
        lines.append(current)
    return lines


def pipelines_in(text):
    return [" ".join(line.split()) for line in shell_lines(text) if line.lstrip().startswith("gst-launch-1.0 ")]


def readme_pipelines():
    with open(os.path.join(ROOT, "README.md")) as f:
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", f.read(), flags=re.S | re.M)
    return [p for block in blocks for p in pipelines_in(block)]


def example_scripts():
    """The runnable scripts (with a #! line; env.sh is sourced by them, not run)."""
    scripts = []
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.sh"))):
        with open(path) as f:
            if f.readline().startswith("#!"):
                scripts.append(path)
    return scripts


def all_pipelines():
    found = [("README.md", p) for p in readme_pipelines()]
    for script in example_scripts():
        with open(script) as f:
            found += [(os.path.relpath(script, ROOT), p) for p in pipelines_in(f.read())]
    return found


def headless(pipeline):
    for sink, replacement in HEADLESS.items():
        pipeline = re.sub(rf"\b{sink}\b", replacement, pipeline)
    return pipeline


class Scratch:
    """A folder laid out like the source tree for the documents' relative paths."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.model = os.path.join(self.dir, "model.avts")
        os.makedirs(os.path.join(self.dir, "tests"))
        os.symlink(MEDIA, os.path.join(self.dir, "tests", "media"))
        p = subprocess.run([AVTS, "init", "--preset", "avts-compact", "--seed", "3", "-o", self.model],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        self.env = dict(os.environ, MODEL=self.model, CLIP=CLIP, OUT=self.dir, AVTS=AVTS)

    def run(self, args, **kwargs):
        return subprocess.run(args, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=TIMEOUT,
                              **kwargs)


SCRATCH = None


def setUpModule():
    global SCRATCH
    SCRATCH = Scratch()


def tearDownModule():
    SCRATCH.tmp.cleanup()


class DocumentedPipelines(unittest.TestCase):
    @property
    def scratch(self):
        return SCRATCH

    def test_every_document_has_pipelines(self):
        # The extraction finds what is there: the README's feature, monitor and correction
        # pipelines, and at least one runnable line per example script.
        self.assertGreaterEqual(len(readme_pipelines()), 3)
        for script in example_scripts():
            with open(script) as f:
                self.assertTrue(pipelines_in(f.read()), f"{script}: no gst-launch-1.0 line")
        self.assertGreaterEqual(len(example_scripts()), 3)

    def test_pipelines_run(self):
        pipelines = all_pipelines()
        self.assertGreaterEqual(len(pipelines), 8)
        for source, pipeline in pipelines:
            with self.subTest(source=source, pipeline=pipeline):
                self.check_pipeline(headless(pipeline))

    def check_pipeline(self, pipeline):
        p = self.scratch.run(["bash", "-c", pipeline])
        self.assertEqual(p.returncode, 0, f"{pipeline}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        self.assertNotIn("ERROR", p.stderr)
        reports = "avtssyncbin" in pipeline or "avtssync " in pipeline
        if reports and " -m " in f" {pipeline} ":
            # Reports every second and the summary at the end, as bus messages.
            self.assertGreaterEqual(p.stdout.count("avts-sync, "), 2, p.stdout[-3000:])
            self.assertEqual(p.stdout.count("avts-sync-summary, "), 1, p.stdout[-3000:])
        written = re.search(r"avtssync .*filesink location=(\S+)", pipeline)
        if written:  # avtssync's JSON lines: reports, then the summary
            path = self.scratch.run(["bash", "-c", f"echo {written.group(1)}"]).stdout.strip()
            with open(os.path.join(self.scratch.dir, path)) as f:
                lines = [json.loads(line) for line in f]
            self.assertGreaterEqual(len(lines), 3)
            self.assertIn("offset-ms", lines[0])
            self.assertTrue(lines[-1].get("summary"))


class ExampleScripts(unittest.TestCase):
    @property
    def scratch(self):
        return SCRATCH

    def test_scripts_are_valid_shell(self):
        for script in example_scripts():
            p = subprocess.run(["sh", "-n", script], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, f"{script}: {p.stderr}")

    def test_file_qc_runs_whole(self):
        p = self.scratch.run(["sh", os.path.join(ROOT, "examples", "file_qc.sh")])
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
        # An untrained model: the verdict is inconclusive, which QC counts as a failure.
        self.assertIn("FAIL", p.stdout)
        with open(os.path.join(self.scratch.dir, "qc.json")) as f:
            qc = json.load(f)
        self.assertGreaterEqual(len(qc["reports"]), 2)
        self.assertIn("status", qc["summary"])
        self.assertIn("avts-sync-summary", p.stdout)

    def test_missing_model_is_explained(self):
        env = dict(self.scratch.env, MODEL=os.path.join(self.scratch.dir, "none.avts"))
        p = subprocess.run(["sh", os.path.join(ROOT, "examples", "live_monitor.sh")], env=env, capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("none.avts", p.stderr)


class ExamplePrograms(unittest.TestCase):
    """sync_monitor.c and sync_monitor.py: reports, the summary and the exit code."""

    @property
    def scratch(self):
        return SCRATCH

    PROGRAMS = {
        "c": lambda: [SYNC_MONITOR],
        "python": lambda: [PYTHON, os.path.join(ROOT, "examples", "sync_monitor.py")],
    }

    def check_output(self, p, clip):
        # An untrained model: reports, but inconclusive, so the exit code says "not within tolerance".
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("positive offset = audio early", lines[0])
        self.assertTrue(lines[0].startswith("file://") and lines[0].split()[0].endswith(os.path.basename(clip)))
        reports = [line for line in lines if re.match(r"\s+\d+\.\d\d s  offset\s+[+-]\d+\.\d ms", line)]
        self.assertGreaterEqual(len(reports), 2, p.stdout)
        self.assertRegex(lines[-1], r"^summary: offset [+-]\d+\.\d ms.*status (ok|warn|fail|inconclusive) \(ebu-r37\)$")
        return reports

    def test_programs_report_a_file(self):
        outputs = {}
        for name, program in self.PROGRAMS.items():
            with self.subTest(program=name):
                for clip in (CLIP, WEBM):
                    p = self.scratch.run(program() + ["--model", self.scratch.model, clip])
                    outputs[name, clip] = self.check_output(p, clip)
        # The two programs print the same reports for the same input and model.
        for clip in (CLIP, WEBM):
            self.assertEqual(outputs.get(("c", clip)), outputs.get(("python", clip)))

    def test_programs_with_correction_and_shift(self):
        for name, program in self.PROGRAMS.items():
            with self.subTest(program=name):
                # The model comes from $MODEL here.
                p = self.scratch.run(program() + ["--correct", "--shift-audio", "120", CLIP])
                self.check_output(p, CLIP)

    def test_programs_missing_model(self):
        for name, program in self.PROGRAMS.items():
            with self.subTest(program=name):
                p = self.scratch.run(program() + ["--model", "/nonexistent/m.avts", CLIP])
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("/nonexistent/m.avts", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
