"""POST /v1/images/classify on `kaiwu serve --vision`: the answer for a
photo sent as base64 JSON, as a data: URL and as a multipart upload equals
`kaiwu classify --json` on the same file (indices, labels, probabilities);
broken images and unknown model names get an OpenAI error, not a crash."""
import base64
import json
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import KW, MODELS, SRC, Runner, Server, need_serve, skip  # noqa: E402

ONNX = os.path.join(MODELS, "efficientnet_lite0.onnx")
PHOTOS = os.path.join(SRC, "..", "shared", "data", "imagenet-sample")


def cli_top(path, k):
    out = subprocess.run([KW, "classify", "-m", ONNX, path, "--top", str(k), "--json"],
                         capture_output=True, check=True, timeout=120).stdout
    return json.loads(out)["top"]


def same_top(api, cli):
    assert [d["index"] for d in api] == [d["index"] for d in cli], (api, cli)
    assert [d["label"] for d in api] == [d["label"] for d in cli], (api, cli)
    for a, c in zip(api, cli):
        assert abs(a["prob"] - c["prob"]) <= 1e-5, (api, cli)


def multipart(fields, files):
    b = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                      % (b, k, v)).encode())
    for k, (name, data) in files.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                      'Content-Type: image/jpeg\r\n\r\n' % (b, k, name)).encode() + data + b"\r\n")
    return b"".join(parts) + ("--%s--\r\n" % b).encode(), "multipart/form-data; boundary=" + b


def main():
    need_serve()
    if not os.path.exists(ONNX):
        skip("missing %s (run `make models-vision`)" % ONNX)
    photos = sorted(os.listdir(PHOTOS))[:4]
    if not photos:
        skip("no photos in %s" % PHOTOS)
    run = Runner("test_serve_classify")
    with Server(["--vision", "effnet=" + ONNX, "--parallel", "1"]) as srv:
        def json_and_data_url():
            for p in photos:
                path = os.path.join(PHOTOS, p)
                raw = open(path, "rb").read()
                want = cli_top(path, 3)
                b64 = base64.b64encode(raw).decode()
                for image in (b64, "data:image/jpeg;base64," + b64):
                    r = srv.post("/v1/images/classify", {"model": "effnet", "image": image, "top_k": 3})
                    assert r.status == 200, r
                    j = r.json()
                    assert j["object"] == "list" and j["model"] == "effnet", j
                    same_top(j["data"], want)

        def multipart_upload():
            path = os.path.join(PHOTOS, photos[0])
            body, ctype = multipart({"top_k": "5"}, {"image": (photos[0], open(path, "rb").read())})
            r = srv.request("POST", "/v1/images/classify", body, {"Content-Type": ctype})
            assert r.status == 200, r
            same_top(r.json()["data"], cli_top(path, 5))

        def bad_inputs():
            good = base64.b64encode(open(os.path.join(PHOTOS, photos[0]), "rb").read()).decode()
            cases = [
                {"image": "not base64 at all!"},
                {"image": base64.b64encode(b"\xff\xd8\xff" + b"\0" * 64).decode()},
                {"image": good[:len(good) // 2]},
                {"image": good, "model": "no-such-model"},
                {"image": 12},
                {"image": good, "top_k": 0},
                {},
            ]
            for c in cases:
                r = srv.post("/v1/images/classify", c)
                assert 400 <= r.status < 500, (c.keys(), r)
                assert "error" in r.json(), r
            assert srv.alive()
            r = srv.post("/v1/images/classify", {"image": good, "top_k": 1})
            assert r.status == 200, r

        run.run(json_and_data_url)
        run.run(multipart_upload)
        run.run(bad_inputs)
    run.finish()


if __name__ == "__main__":
    main()
