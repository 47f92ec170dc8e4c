"""Shared by tests/vision/test_*.py: where the kaiwu binary, the models and
the sample data are, and the skip rule (exit 77 when something is missing,
a failure instead when KW_REQUIRE_MODELS=1)."""
import json
import os
import subprocess
import sys

SRC = os.environ.get("KW_SOURCE_DIR",
                     os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
KW = os.environ.get("KW_BIN", os.path.join(SRC, "build", "kaiwu"))
MODELS = os.environ.get("KW_MODELS_DIR", os.path.join(SRC, "models"))
DATA = os.environ.get("KW_VISION_DATA",
                      os.path.abspath(os.path.join(SRC, "..", "shared", "data")))
REQUIRE = bool(os.environ.get("KW_REQUIRE_MODELS"))
sys.path.insert(0, os.path.join(SRC, "tools"))


def skip(why, required=True):
    """Skips (77), or fails when models are required and this is one."""
    print("skip: %s" % why)
    sys.exit(1 if (REQUIRE and required) else 77)


def need_model(name):
    path = os.path.join(MODELS, name)
    if not os.path.exists(path):
        skip("missing %s (run `make models-vision`)" % path)
    return path


def kaiwu_json(args):
    """Runs kaiwu with --json; returns the parsed lines (one per image)."""
    r = subprocess.run([KW] + args + ["--json"], capture_output=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode("utf-8", "replace"))
        raise SystemExit("kaiwu %s failed (exit %d)" % (args[0], r.returncode))
    return [json.loads(l) for l in r.stdout.decode("utf-8").splitlines() if l]
