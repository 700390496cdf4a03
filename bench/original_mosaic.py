#!/usr/bin/env python3
"""The original Python service's face mosaic, for comparison with the Node port (bench/faces.ts, tests).

The core is the original FastAPI router's code, unchanged:

    face_cascade = cv2.CascadeClassifier('haarcascade_frontalface_alt.xml')
    img = cv2.imread(path); gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    faces = face_cascade.detectMultiScale(gray, minSize=(30, 30))   # scaleFactor 1.1, minNeighbors 3
    for (x, y, w, h) in faces:
        face = img[y:y+h, x:x+w]
        small = cv2.resize(face, (16, 16), interpolation=cv2.INTER_LINEAR)
        img[y:y+h, x:x+w] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(f"{output_dir}/{name}-face.png", img)

Usage (system Python with python3-opencv):

    /usr/bin/python3 bench/original_mosaic.py [--out DIR] [--repeat N] [--threads N] [--cascade FILE] IMAGE...

Prints JSON: {"opencv", "threads", "images": {file: {"faces": [[x, y, w, h]...], "detect_ms": [...],
"total_ms": [...]}}}, times per repetition; detect_ms is detectMultiScale alone (after imread and grey),
total_ms is imread + detection + pixelation + imwrite. Without --out, images go to a temporary folder.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import cv2

CASCADE_DIRS = [
    "/usr/share/opencv4/haarcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/local/share/opencv4/haarcascades",
]


def find_cascade(explicit):
    if explicit:
        return explicit
    for d in CASCADE_DIRS:
        p = os.path.join(d, "haarcascade_frontalface_alt.xml")
        if os.path.isfile(p):
            return p
    sys.exit("haarcascade_frontalface_alt.xml not found; install opencv-data or pass --cascade")


def mosaic_file(face_cascade, path, output_dir):
    """The original code, timed."""
    name = os.path.splitext(os.path.basename(path))[0]
    t0 = time.perf_counter()
    img = cv2.imread(path)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    t1 = time.perf_counter()
    faces = face_cascade.detectMultiScale(gray, minSize=(30, 30))
    t2 = time.perf_counter()
    for (x, y, w, h) in faces:
        face = img[y:y + h, x:x + w]
        small = cv2.resize(face, (16, 16), interpolation=cv2.INTER_LINEAR)
        img[y:y + h, x:x + w] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(f"{output_dir}/{name}-face.png", img)
    t3 = time.perf_counter()
    return [list(map(int, f)) for f in faces], (t2 - t1) * 1000, (t3 - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=-1, help="cv2.setNumThreads; default: OpenCV's own")
    ap.add_argument("--cascade")
    args = ap.parse_args()
    if args.threads >= 0:
        cv2.setNumThreads(args.threads)
    face_cascade = cv2.CascadeClassifier(find_cascade(args.cascade))
    if face_cascade.empty():
        sys.exit("could not load the cascade")
    out_dir = args.out or tempfile.mkdtemp(prefix="original-mosaic-")
    os.makedirs(out_dir, exist_ok=True)
    results = {}
    for _ in range(args.repeat):
        for path in args.images:
            faces, detect_ms, total_ms = mosaic_file(face_cascade, path, out_dir)
            r = results.setdefault(os.path.basename(path), {"faces": faces, "detect_ms": [], "total_ms": []})
            r["detect_ms"].append(round(detect_ms, 2))
            r["total_ms"].append(round(total_ms, 2))
    json.dump(
        {"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "out": out_dir, "images": results},
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
