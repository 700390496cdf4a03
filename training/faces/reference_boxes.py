#!/usr/bin/env python3
"""Reference face boxes from Python OpenCV, with the original service's parameters.

The original FastAPI router ran, for every image:

    img = cv2.imread(path); gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    faces = face_cascade.detectMultiScale(gray, minSize=(30, 30))   # scaleFactor 1.1, minNeighbors 3

This script does exactly that (same cascade file as the Node detector) and prints JSON:

    {"opencv": "4.6.0", "cascade": "/usr/share/...xml", "params": {...},
     "images": {"two_people.jpg": {"width": 1126, "height": 661, "faces": [[x, y, w, h], ...]}, ...}}

Usage (the system Python, which has cv2 from python3-opencv):

    /usr/bin/python3 training/faces/reference_boxes.py [--cascade FILE] [--scale-factor 1.1]
        [--min-neighbors 3] [--min-size 30] [--max-side 0] IMAGE_OR_DIR...

--max-side N detects on a copy whose longest side is at most N (INTER_AREA) and maps the boxes back, like
the service's FACES_DETECT_MAX_SIDE; 0 (default) is full resolution, as the original.
"""
import argparse
import json
import os
import sys

import cv2

SYSTEM_CASCADES = [
    "/usr/share/opencv4/haarcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/local/share/opencv4/haarcascades",
]
NAME = "haarcascade_frontalface_alt.xml"
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def find_cascade(explicit):
    if explicit:
        return explicit
    for d in SYSTEM_CASCADES:
        p = os.path.join(d, NAME)
        if os.path.isfile(p):
            return p
    data = getattr(cv2, "data", None)
    if data is not None:
        p = os.path.join(data.haarcascades, NAME)
        if os.path.isfile(p):
            return p
    sys.exit(f"{NAME} not found; install opencv-data or pass --cascade")


def images(paths):
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.lower().endswith(EXTENSIONS):
                    yield os.path.join(p, name)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--cascade")
    ap.add_argument("--scale-factor", type=float, default=1.1)
    ap.add_argument("--min-neighbors", type=int, default=3)
    ap.add_argument("--min-size", type=int, default=30)
    ap.add_argument("--max-side", type=int, default=0)
    args = ap.parse_args()

    cascade_path = find_cascade(args.cascade)
    cascade = cv2.CascadeClassifier(cascade_path)
    if cascade.empty():
        sys.exit(f"could not load the cascade {cascade_path}")

    out = {}
    for path in images(args.paths):
        img = cv2.imread(path)  # applies EXIF orientation, drops alpha, BGR
        if img is None:
            out[os.path.basename(path)] = {"error": "unreadable"}
            continue
        h, w = img.shape[:2]
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        scale = 1.0
        if args.max_side > 0 and max(w, h) > args.max_side:
            scale = args.max_side / max(w, h)
            gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        min_size = max(1, round(args.min_size * scale))
        faces = cascade.detectMultiScale(
            gray,
            scaleFactor=args.scale_factor,
            minNeighbors=args.min_neighbors,
            minSize=(min_size, min_size),
        )
        boxes = [[int(round(v / scale)) for v in f] for f in faces]
        out[os.path.basename(path)] = {"width": w, "height": h, "faces": boxes}

    json.dump(
        {
            "opencv": cv2.__version__,
            "cascade": cascade_path,
            "params": {
                "scaleFactor": args.scale_factor,
                "minNeighbors": args.min_neighbors,
                "minSize": args.min_size,
                "maxSide": args.max_side,
            },
            "images": out,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
