/** A face as a box in the image's pixel coordinates (EXIF orientation applied). */
export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Detector parameters, as OpenCV's detectMultiScale names them. */
export interface DetectOptions {
  /** Scale step between detection passes (> 1); OpenCV's default 1.1. */
  scaleFactor: number;
  /** How many overlapping raw detections make a face; OpenCV's default 3. */
  minNeighbors: number;
  /** Smallest face, in pixels of the original image (a square of this side); the original used 30. */
  minSize: number;
  /**
   * Detect on a copy whose longest side is at most this many pixels, boxes mapped back; 0 = full
   * resolution (as the original).
   */
  maxSide: number;
}

export type MosaicMethod = 'pixelate' | 'blur';

export interface MosaicOptions {
  method: MosaicMethod;
  /** Cells across each face (pixelate), or the blur's strength (sigma = face side / blocks). */
  blocks: number;
}

/** Decoded pixels, interleaved 8-bit RGB or RGBA, row-major, no padding. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface DetectResult {
  faces: FaceBox[];
  /** Time spent in the detector itself (worker side). */
  detectMs: number;
}

export interface MosaicResult extends DetectResult {
  /** The image with every face box pixelated (or blurred), same size and channels as the input. */
  image: RawImage;
}

/**
 * A face detector. The service only knows this interface; the Haar cascade implementation
 * (HaarFaceDetector, OpenCV.js in worker threads) sits behind it.
 */
export interface FaceDetector {
  readonly name: string;
  detect(image: RawImage, options: DetectOptions): Promise<DetectResult>;
  /** Detects and anonymises every face in one pass. */
  mosaic(image: RawImage, options: DetectOptions & MosaicOptions): Promise<MosaicResult>;
  /** Facts for /models. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}
