# syntax=docker/dockerfile:1
# ko-ai-server: multi-stage image on Debian 12 (bookworm), Node.js 20.
#
#   docker build -t ko-ai-server .                       # NATIVE_FACES=false: faces on OpenCV.js only
#   docker run -p 3000:3000 ko-ai-server                 # bundled models and corpus, in-memory state
#   docker compose up --build                            # two replicas + Redis + nginx (docker-compose.yml)
#
# The build mirrors what works outside Docker (scripts/npm-install.sh, package.json): `npm ci`, then
# scripts/install-native.js compiles faiss-node against Debian's FAISS (and the optional native face
# detector against Debian's OpenCV), then `npm run build`. Dependency install scripts are skipped with
# --ignore-scripts, as package.json's allowScripts does with npm 11 (the image's npm 10 ignores allowScripts).

ARG NODE_IMAGE=node:20-bookworm-slim
# The native Haar detector (src/modules/faces/native); false: OpenCV.js (WebAssembly) only, a smaller image.
ARG NATIVE_FACES=true

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
ARG NATIVE_FACES
# libfaiss-dev is FAISS 1.7.3 as a static library (libfaiss.a) plus BLAS/LAPACK; g++/make/python3 for the
# native builds; libopencv-objdetect-dev for the optional native face detector.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfaiss-dev g++ make python3 ca-certificates \
      $( [ "$NATIVE_FACES" = "true" ] && echo libopencv-objdetect-dev ) \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first (cached until the lockfile changes), then the native engines.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/install-native.js scripts/
COPY src/modules/faces/native/ src/modules/faces/native/
RUN FAISS_NODE_SKIP_PREBUILT=1 node scripts/install-native.js \
 && node scripts/install-native.js --check \
 && mkdir -p build/native

# The application.
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src/ src/
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG NATIVE_FACES
# Runtime libraries only: faiss-node links FAISS statically but needs BLAS, LAPACK and OpenMP; opencv-data
# has the Haar cascade (haarcascade_frontalface_alt.xml); the native face detector needs OpenCV's objdetect.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libblas3 liblapack3 libopenblas0-pthread libgomp1 opencv-data \
      $( [ "$NATIVE_FACES" = "true" ] && echo libopencv-objdetect406 ) \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    MODELS_DIR=/app/models \
    CORPUS_DIR=/app/corpus \
    CHAT_INDEX_DIR=/app/data/chat-index \
    MNIST_DIR=/app/data/mnist \
    UPLOAD_DIR=/app/data/uploads \
    OUTPUT_DIR=/app/data/output
WORKDIR /app

COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/build/native/ build/native/
# Models and corpus are part of the image; mount over /app/models or /app/corpus (read-only is fine: the
# chat index is written to CHAT_INDEX_DIR) to serve others.
COPY models/ models/
COPY corpus/ corpus/
COPY public/ public/
# Writable state (uploads, outputs, the chat index cache, MNIST files) for the non-root user `node`.
RUN mkdir -p /app/data/uploads /app/data/output /app/data/chat-index /app/data/mnist \
 && chown -R node:node /app/data
USER node

EXPOSE 3000
# main.ts handles SIGTERM: stops accepting, finishes requests and messages in flight, releases models
# (bounded by SHUTDOWN_TIMEOUT_MS, default 10 s; keep the orchestrator's grace period longer).
STOPSIGNAL SIGTERM
# Liveness only: readiness (/health/ready) is for load balancers, see deploy/kubernetes.md.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
