#!/usr/bin/env python3
"""The original FastAPI router's /upload and /mosaic, as the baseline of bench/seed-peer.ts.

Its code, unchanged in what it does: the upload is copied to UPLOAD_DIR under the client's filename and
nothing is checked; GET /mosaic runs the Haar cascade over every file in UPLOAD_DIR (bench/original_mosaic.py's
loop) and writes `<name>-face.png` to OUTPUT_DIR.

    /usr/bin/python3 bench/seed_peer.py PORT UPLOAD_DIR OUTPUT_DIR

Needs Debian's python3-fastapi (0.92), python3-uvicorn, python3-multipart and python3-opencv.
"""
import os
import shutil
import sys

import cv2
import uvicorn
from fastapi import APIRouter, FastAPI, File, UploadFile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from original_mosaic import find_cascade  # noqa: E402

PORT, UPLOAD_DIR, OUTPUT_DIR = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.makedirs(UPLOAD_DIR, exist_ok=True)
os.makedirs(OUTPUT_DIR, exist_ok=True)
face_cascade = cv2.CascadeClassifier(find_cascade(None))
router = APIRouter()


@router.post("/upload")
async def upload(file: UploadFile = File(...)):
    path = os.path.join(UPLOAD_DIR, file.filename)
    with open(path, "wb") as buffer:
        shutil.copyfileobj(file.file, buffer)
    return {"filename": file.filename, "message": "Image uploaded successfully", "path": path}


@router.get("/mosaic")
async def mosaic():
    results = []
    for name in os.listdir(UPLOAD_DIR):
        img = cv2.imread(os.path.join(UPLOAD_DIR, name))
        if img is None:
            continue
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        faces = face_cascade.detectMultiScale(gray, minSize=(30, 30))
        for (x, y, w, h) in faces:
            face = img[y:y + h, x:x + w]
            small = cv2.resize(face, (16, 16), interpolation=cv2.INTER_LINEAR)
            img[y:y + h, x:x + w] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        out = os.path.join(OUTPUT_DIR, f"{os.path.splitext(name)[0]}-face.png")
        cv2.imwrite(out, img)
        results.append({"filename": name, "faces": len(faces), "output": out})
    return {"message": "Mosaic applied", "results": results}


app = FastAPI()
app.include_router(router)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
