"""element_errors.py CASES_JSON: for each {name: model path}, runs a test source into
avtsaudiofeat and avtsvideofeat with that model and prints, as JSON, the first error of
each pipeline: {name: {element: {"source", "message", "debug", "hang"}}}. Run as a process of
its own by test_bad_models.py (which has imported torch, see RELIABILITY.md)."""
import json
import sys

import streams

results = {}
for name, path in json.loads(sys.argv[1]).items():
    results[name] = {}
    for element, source in (("avtsaudiofeat", "audiotestsrc"), ("avtsvideofeat", "videotestsrc")):
        r = streams.run(f"{source} num-buffers=1 ! {element} name=f model-file={path} ! fakesink", {}, timeout=30)
        source_name, message, debug = r.errors[0] if r.errors else ("", "", "")
        results[name][element] = {"source": source_name, "message": message, "debug": debug, "hang": r.hang}
print(json.dumps(results))
