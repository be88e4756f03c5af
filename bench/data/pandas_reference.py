#!/usr/bin/python3
"""Reference for the CSV conversion benchmark: what the common Python pipelines do
(torch-rechub / AITM ports): pandas.read_csv, then per categorical column a vocabulary of ids
seen at least MIN_COUNT times (rare ids -> 0), as int32 arrays ready for a DataLoader.

usage: pandas_reference.py CSV MIN_COUNT  -> prints JSON {"seconds", "rows", "mb_per_s"}
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd


def main():
    path, min_count = sys.argv[1], int(sys.argv[2])
    t0 = time.perf_counter()
    df = pd.read_csv(path, dtype=str)
    out = {}
    for col in df.columns:
        if col in ("click", "purchase"):
            out[col] = df[col].astype(np.float32).to_numpy()
            continue
        counts = df[col].value_counts()
        kept = counts[counts >= min_count].index
        vocab = pd.Series(np.arange(1, len(kept) + 1, dtype=np.int32), index=kept)
        out[col] = df[col].map(vocab).fillna(0).astype(np.int32).to_numpy()
    seconds = time.perf_counter() - t0
    mb = os.path.getsize(path) / 1e6
    print(json.dumps({"seconds": seconds, "rows": len(df), "mb_per_s": mb / seconds}))


if __name__ == "__main__":
    main()
