// Native OpenCV Haar cascade for NativeHaarFaceDetector (../native-haar-face-detector.ts).
//
// A thin N-API binding over the system OpenCV (Debian: libopencv-objdetect-dev), compiled by
// scripts/install-native.js. It does the same steps as the OpenCV.js worker (face-detector.worker.ts):
// RGB->grey, optional INTER_AREA downscale, detectMultiScale, boxes mapped back and clamped, then the
// mosaic of each box in place. Work runs in libuv's thread pool, never on the event loop.
//
// A CascadeClassifier must not run two detections at once (detectMultiScale keeps per-image state in
// the object), so the TypeScript side owns one CascadeDetector per concurrent slot.
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

namespace {

struct Options {
  double scaleFactor = 1.1;
  int minNeighbors = 3;
  int minSize = 30;
  int maxSide = 0;
  bool mosaic = false;
  bool blur = false;
  int blocks = 16;
};

int Clamp(int v, int lo, int hi) { return std::min(hi, std::max(lo, v)); }

class DetectWorker : public Napi::AsyncWorker {
 public:
  DetectWorker(Napi::Env env, std::shared_ptr<cv::CascadeClassifier> cascade, Napi::Uint8Array pixels, int width,
               int height, int channels, Options options)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        cascade_(std::move(cascade)),
        data_(pixels.Data()),
        width_(width),
        height_(height),
        channels_(channels),
        options_(options) {
    // Keeps the caller's pixels alive (and in place) until the work is done.
    pixels_ = Napi::Persistent(pixels.As<Napi::Object>());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      const auto started = std::chrono::steady_clock::now();
      cv::Mat image(height_, width_, channels_ == 4 ? CV_8UC4 : CV_8UC3, data_);
      cv::Mat grey;
      // Same fixed-point formula as cv2.cvtColor(BGR2GRAY) on the BGR image cv2.imread gives.
      cv::cvtColor(image, grey, channels_ == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
      const int longest = std::max(width_, height_);
      const double scale =
          options_.maxSide > 0 && longest > options_.maxSide ? double(options_.maxSide) / longest : 1.0;
      cv::Mat target = grey;
      if (scale < 1) {
        cv::Size size(std::max(1, int(std::lround(width_ * scale))), std::max(1, int(std::lround(height_ * scale))));
        cv::resize(grey, target, size, 0, 0, cv::INTER_AREA);
      }
      const double sx = double(width_) / target.cols;
      const double sy = double(height_) / target.rows;
      const int minSide = std::max(1, int(std::lround(options_.minSize / std::max(sx, sy))));
      std::vector<cv::Rect> rects;
      cascade_->detectMultiScale(target, rects, options_.scaleFactor, options_.minNeighbors, 0,
                                 cv::Size(minSide, minSide), cv::Size());
      for (const cv::Rect& r : rects) {
        const int x0 = Clamp(int(std::lround(r.x * sx)), 0, width_ - 1);
        const int y0 = Clamp(int(std::lround(r.y * sy)), 0, height_ - 1);
        const int x1 = Clamp(int(std::lround((r.x + r.width) * sx)), x0 + 1, width_);
        const int y1 = Clamp(int(std::lround((r.y + r.height) * sy)), y0 + 1, height_);
        faces_.emplace_back(x0, y0, x1 - x0, y1 - y0);
      }
      detectMs_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      if (options_.mosaic)
        for (const cv::Rect& box : faces_) Anonymise(image, box);
    } catch (const cv::Exception& e) {
      // One line, not OpenCV's multi-line report.
      SetError(e.err.empty() ? std::string("OpenCV error") : e.err);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array faces = Napi::Array::New(env, faces_.size());
    for (size_t i = 0; i < faces_.size(); i++) {
      Napi::Object f = Napi::Object::New(env);
      f.Set("x", faces_[i].x);
      f.Set("y", faces_[i].y);
      f.Set("w", faces_[i].width);
      f.Set("h", faces_[i].height);
      faces.Set(uint32_t(i), f);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("faces", faces);
    result.Set("detectMs", detectMs_);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // As the original: resize(face, (blocks, blocks), INTER_LINEAR) then back with INTER_NEAREST, in place;
  // or a Gaussian blur of the region. In detection order, so overlapping boxes end as in the original.
  void Anonymise(cv::Mat& image, const cv::Rect& box) {
    cv::Mat region = image(box);
    cv::Mat out;
    if (options_.blur) {
      const double sigma = double(std::max(box.width, box.height)) / options_.blocks;
      cv::GaussianBlur(region, out, cv::Size(0, 0), sigma, sigma, cv::BORDER_REPLICATE);
    } else {
      cv::Mat small;
      cv::resize(region, small, cv::Size(options_.blocks, options_.blocks), 0, 0, cv::INTER_LINEAR);
      cv::resize(small, out, box.size(), 0, 0, cv::INTER_NEAREST);
    }
    out.copyTo(region);
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<cv::CascadeClassifier> cascade_;
  Napi::ObjectReference pixels_;
  uint8_t* data_;
  int width_, height_, channels_;
  Options options_;
  std::vector<cv::Rect> faces_;
  double detectMs_ = 0;
};

class CascadeDetector : public Napi::ObjectWrap<CascadeDetector> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "CascadeDetector", {InstanceMethod("run", &CascadeDetector::Run)});
    exports.Set("CascadeDetector", ctor);
    exports.Set("opencvVersion", Napi::String::New(env, CV_VERSION));
    exports.Set("threads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                  return Napi::Number::New(info.Env(), cv::getNumThreads());
                }));
    return exports;
  }

  // new CascadeDetector(cascadeXmlPath)
  explicit CascadeDetector(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CascadeDetector>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "CascadeDetector(path): path must be a string").ThrowAsJavaScriptException();
      return;
    }
    const std::string path = info[0].As<Napi::String>();
    cascade_ = std::make_shared<cv::CascadeClassifier>();
    bool loaded = false;
    try {
      loaded = cascade_->load(path) && !cascade_->empty();
    } catch (const cv::Exception&) {
      loaded = false;
    }
    if (!loaded) Napi::Error::New(env, path + " is not a valid OpenCV cascade").ThrowAsJavaScriptException();
  }

 private:
  // run(pixels: Uint8Array, width, height, channels, options) -> Promise<{ faces, detectMs }>
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsNumber() || !info[4].IsObject()) {
      Napi::TypeError::New(env, "run(pixels, width, height, channels, options)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::TypedArray typed = info[0].As<Napi::TypedArray>();
    if (typed.TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "pixels must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array pixels = info[0].As<Napi::Uint8Array>();
    const int width = info[1].As<Napi::Number>().Int32Value();
    const int height = info[2].As<Napi::Number>().Int32Value();
    const int channels = info[3].As<Napi::Number>().Int32Value();
    if (width <= 0 || height <= 0 || (channels != 3 && channels != 4) ||
        pixels.ElementLength() != size_t(width) * size_t(height) * size_t(channels)) {
      Napi::RangeError::New(env, "pixel buffer does not match its size").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = info[4].As<Napi::Object>();
    Options options;
    auto number = [&](const char* key, double fallback) {
      Napi::Value v = o.Get(key);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
    };
    options.scaleFactor = number("scaleFactor", 1.1);
    options.minNeighbors = int(number("minNeighbors", 3));
    options.minSize = int(number("minSize", 30));
    options.maxSide = int(number("maxSide", 0));
    options.blocks = std::max(1, int(number("blocks", 16)));
    Napi::Value method = o.Get("method");
    options.mosaic = method.IsString();
    options.blur = options.mosaic && method.As<Napi::String>().Utf8Value() == "blur";
    if (options.scaleFactor <= 1.0) {
      Napi::RangeError::New(env, "scaleFactor must be greater than 1").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto* worker = new DetectWorker(env, cascade_, pixels, width, height, channels, options);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  std::shared_ptr<cv::CascadeClassifier> cascade_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { return CascadeDetector::Init(env, exports); }

}  // namespace

NODE_API_MODULE(cascade_detector, Init)
