#!/usr/bin/env python3
"""scikit-learn baseline for the classifier benchmark: TF-IDF (word 1-2 + char_wb 2-5,
sublinear tf) and LinearSVC, the usual strong baseline for intent classification.
Usage: sklearn_baseline.py TRAIN.csv TEST.csv  -> one JSON line."""
import csv, json, sys, time
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC


def load(path):
    rows = list(csv.DictReader(open(path, newline="")))
    return [r["text"] for r in rows], [r["category"] for r in rows]


xt, yt = load(sys.argv[1])
xv, yv = load(sys.argv[2])
vec = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                 TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
start = time.perf_counter()
clf = LinearSVC().fit(vec.fit_transform(xt), yt)
train_s = time.perf_counter() - start
start = time.perf_counter()
pred = clf.predict(vec.transform(xv))
pred_s = time.perf_counter() - start
print(json.dumps({"tool": "sklearn", "train": len(xt), "test": len(xv),
                  "accuracy": sum(p == y for p, y in zip(pred, yv)) / len(yv),
                  "train_seconds": train_s, "predictions_per_second": len(xv) / pred_s}))
