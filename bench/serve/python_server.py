#!/usr/bin/python3
"""ESMM served the way a Python user would serve it: the reference of the serving benchmark.

    /usr/bin/python3 python_server.py EXPORT_DIR [--port 0] [--port-file FILE]
        [--torch-threads 1] [--name esmm]

EXPORT_DIR is what bench/serve/export_reference writes from a Funnel bundle: manifest.json,
weights.f32 (every embedding table and tower parameter, float32) and vocab.json ({field:
{raw value: id}} for the benchmark's rows). The server answers the same routes and format as
`funnel serve` (docs/serving.md) for what the benchmark uses:

    POST /v1/score  {"user": {field: value}, "context": {...}, "items": [{"id": ..., field: value}]}
                    -> {"model", "version", "events", "scores": [{"id", "pctr", "pcvr", "pctcvr"}],
                        "unknown_values": {field: count}  (when any)}
    GET /v1/models  the fields a request gives     GET /healthz  "ok"

Per request, as one would write it: json.loads, every raw value through a Python dict
{value string -> id} per field (unseen -> 0, as in Funnel; the user's and the context's values
once per request, as Funnel does), a LongTensor of ids, one nn.Embedding per field,
torch.cat, the two towers (nn.Sequential of Linear + ReLU, then a Linear to one logit),
sigmoid: pCTR, pCVR, pCTCVR = pCTR * pCVR; json.dumps.

HTTP: http.server.ThreadingHTTPServer (one thread per connection) with HTTP/1.1 keep-alive
and TCP_NODELAY on. Both favour the reference: the default HTTP/1.0 would open a connection
per request, and Nagle's algorithm with the client's delayed ACK can hold the body of an
answer written after its headers. Request logging is off (it writes a line per request).
--torch-threads: torch.set_num_threads (intra-op threads; `funnel serve` uses 1 per request).
"""
import argparse
import json
import math
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch
import torch.nn as nn


def load_model(export_dir):
    with open(os.path.join(export_dir, "manifest.json")) as f:
        manifest = json.load(f)
    flat = np.fromfile(os.path.join(export_dir, "weights.f32"), dtype="<f4")
    tensors = {}
    for t in manifest["tensors"]:
        n = int(np.prod(t["shape"])) if t["shape"] else 1
        tensors[t["name"]] = torch.from_numpy(flat[t["offset"]:t["offset"] + n].reshape(t["shape"]))
    with open(os.path.join(export_dir, "vocab.json")) as f:
        vocab = json.load(f)
    return manifest, tensors, vocab


class ESMM(nn.Module):
    def __init__(self, manifest, tensors):
        super().__init__()
        if len(manifest["events"]) != 2:
            raise SystemExit("python_server.py: ESMM with two events (click, conversion) only")
        if manifest["activation"] != "relu":
            raise SystemExit(f"python_server.py: activation {manifest['activation']}, expected relu")
        self.embeddings = nn.ModuleList(
            nn.Embedding.from_pretrained(tensors[s["table"]], freeze=True) for s in manifest["sparse"])
        towers = []
        for layers in manifest["towers"]:
            mods = []
            for i, layer in enumerate(layers):
                w, b = tensors[layer["weight"]], tensors[layer["bias"]]
                lin = nn.Linear(w.shape[1], w.shape[0])
                with torch.no_grad():
                    lin.weight.copy_(w)
                    lin.bias.copy_(b)
                mods.append(lin)
                if i + 1 < len(layers):
                    mods.append(nn.ReLU())
            towers.append(nn.Sequential(*mods))
        self.ctr, self.cvr = towers
        self.eval()

    def forward(self, ids, dense):
        parts = [emb(ids[:, i]) for i, emb in enumerate(self.embeddings)]
        if dense is not None:
            parts.append(dense)
        x = torch.cat(parts, dim=1)
        p_ctr = torch.sigmoid(self.ctr(x)).squeeze(1)
        p_cvr = torch.sigmoid(self.cvr(x)).squeeze(1)
        return p_ctr, p_cvr, p_ctr * p_cvr


class BadRequest(Exception):
    pass


class Scorer:
    def __init__(self, export_dir, name):
        manifest, tensors, vocab = load_model(export_dir)
        self.name = name
        self.version = manifest["version"]
        self.events = manifest["events"]
        self.fields = manifest["fields"]
        self.sparse = [s["name"] for s in manifest["sparse"]]
        self.dense = manifest["dense"]
        self.vocab = [vocab[f] for f in self.sparse]
        self.model = ESMM(manifest, tensors)

    def score(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BadRequest("items: required: a list of the items to score")
        shared = dict(body.get("user") or {})
        shared.update(body.get("context") or {})
        items = body["items"]
        if not items:
            raise BadRequest("items: the list is empty")
        oov = [0] * len(self.sparse)

        def lookup(f, v):
            if v is None or v == "":
                return 0
            i = self.vocab[f].get(str(v), 0)
            oov[f] += i == 0
            return i

        # The user's and the context's values: looked up once, shared by every item.
        shared_ids = {f: lookup(f, shared[field]) for f, field in enumerate(self.sparse) if field in shared}
        ids, dense = [], []
        for n, item in enumerate(items):
            row = []
            for f, field in enumerate(self.sparse):
                if f in shared_ids:
                    row.append(shared_ids[f])
                elif field in item:
                    row.append(lookup(f, item[field]))
                else:
                    raise BadRequest(f"items[{n}]: field '{field}' is missing")
            ids.append(row)
            if self.dense:
                vals = []
                for d in self.dense:
                    x = item.get(d["name"], shared.get(d["name"]))
                    vals.append(0.0 if x is None or d["std"] <= 0
                                else math.tanh((float(x) - d["mean"]) / d["std"]))
                dense.append(vals)
        with torch.no_grad():
            p_ctr, p_cvr, p_ctcvr = self.model(
                torch.tensor(ids, dtype=torch.long),
                torch.tensor(dense, dtype=torch.float32) if self.dense else None)
        scores = [{"id": item.get("id"), "pctr": a, "pcvr": b, "pctcvr": c}
                  for item, a, b, c in zip(items, p_ctr.tolist(), p_cvr.tolist(), p_ctcvr.tolist())]
        out = {"model": self.name, "version": self.version, "events": self.events, "scores": scores}
        unknown = {f: n for f, n in zip(self.sparse, oov) if n}
        if unknown:
            out["unknown_values"] = unknown
        return out


def make_handler(scorer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format, *args):
            pass

        def answer(self, status, obj, content_type="application/json"):
            data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            if self.path != "/v1/score":
                return self.answer(404, {"error": f"no such route: POST {self.path}"})
            try:
                body = json.loads(raw)
                self.answer(200, scorer.score(body))
            except (BadRequest, ValueError) as e:
                self.answer(400, {"error": str(e)})

        def do_GET(self):
            if self.path == "/healthz":
                return self.answer(200, b"ok\n", "text/plain")
            if self.path == "/v1/models":
                return self.answer(200, {"models": [{"name": scorer.name, "model": "esmm",
                                                     "version": scorer.version,
                                                     "fields": scorer.fields}]})
            self.answer(404, {"error": f"no such route: GET {self.path}"})

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export_dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--name", default="esmm")
    a = ap.parse_args()
    torch.set_num_threads(a.torch_threads)
    scorer = Scorer(a.export_dir, a.name)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(scorer))
    server.daemon_threads = True
    port = server.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, a.port_file)
    print(f"python reference serving {a.name} on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
