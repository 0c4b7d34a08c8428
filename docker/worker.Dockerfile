# syntax=docker/dockerfile:1.7
# GPU worker: `ipa worker` (Node agent) driving the PyTorch side (transformers, TRL, PEFT, vLLM).
# Build from the repository root: docker build -f docker/worker.Dockerfile -t ipa-worker .
# Why these bases and pins: docker/README.md. Recipes are not in the image: compose mounts them.

# Production Node dependencies only; tsx runs the TypeScript CLI, so there is no build step.
FROM node:20-bookworm-slim AS node-deps
WORKDIR /opt/ipa
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# CUDA 13.0 because the PyPI wheels of torch 2.14 (vLLM 0.33's exact pin) are built against it;
# the wheels carry their own CUDA libraries and tell the NVIDIA container toolkit what driver
# they need (>= 580). The *devel* base, not the runtime one: jobs compile code when they first
# run. Triton builds a C launcher with the host compiler (TRL's fused LM head in DPO, vLLM's
# kernels), and FlashInfer, vLLM's sampler, compiles CUDA kernels with nvcc just in time; a
# runtime base has neither compiler (pytorch/pytorch#170235, vllm-project/vllm#29270). gcc/g++
# come from build-essential below, nvcc and the CUDA headers from this base.
FROM nvidia/cuda:13.0.0-cudnn-devel-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    CUDA_HOME=/usr/local/cuda

# tini forwards SIGTERM to the agent so it finishes its current job before exit (compose stop).
# build-essential: the C/C++ compiler Triton and FlashInfer call at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini libglib2.0-0 libgomp1 build-essential \
 && rm -rf /var/lib/apt/lists/*

# Ubuntu 24.04 ships Python 3.12; uv installs the 3.11 the lock was resolved for (with its headers,
# which Triton's launcher build includes).
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
RUN uv python install 3.11.13 && uv venv --python 3.11.13 /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH

# One resolved set: vllm, torch, transformers, trl, peft, accelerate pinned together
# (workers/stack.in; the development lock and `make test-image-stack` use the same versions).
COPY docker/worker-requirements.lock /tmp/worker-requirements.lock
RUN --mount=type=cache,target=/root/.cache/uv uv pip sync --python /opt/venv/bin/python /tmp/worker-requirements.lock \
 && rm /tmp/worker-requirements.lock

# The Node runtime for the agent, from the same Node image as the dependencies above.
COPY --from=node-deps /usr/local/bin/node /usr/local/bin/node

WORKDIR /opt/ipa
COPY --from=node-deps /opt/ipa/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY orchestrator ./orchestrator
COPY workers ./workers
COPY docker/healthcheck.sh /usr/local/bin/ipa-healthcheck

# uid 10001 in every ipa image, so workers and the orchestrator can all write the shared runs volume.
# Compose may run the container as another uid (IPA_UID), one with no passwd entry: HOME and every
# cache below are explicit paths that any uid can write (mode 1777), never `~` of a user that may
# not exist. /opt/ipa/hf is the Hugging Face cache, a volume in compose (lmms-eval's data sets).
RUN useradd --create-home --uid 10001 --user-group ipa \
 && ln -s /opt/ipa/bin/ipa.js /usr/local/bin/ipa \
 && mkdir -p /opt/ipa/runs /opt/ipa/models /opt/ipa/data /opt/ipa/recipes /opt/ipa/hf \
    /opt/ipa/cache/home /opt/ipa/cache/triton /opt/ipa/cache/vllm /opt/ipa/cache/inductor /opt/ipa/cache/xdg /opt/ipa/cache/matplotlib \
 && chown ipa:ipa /opt/ipa/runs /opt/ipa/models /opt/ipa/data \
 && chmod 1777 /opt/ipa/hf /opt/ipa/cache /opt/ipa/cache/*

ENV IPA_PYTHON=/opt/venv/bin/python \
    PYTHONPATH=/opt/ipa/workers \
    IPA_RUNS_DIR=/opt/ipa/runs \
    NODE_ENV=production \
    HOME=/opt/ipa/cache/home \
    XDG_CACHE_HOME=/opt/ipa/cache/xdg \
    HF_HOME=/opt/ipa/hf \
    TRITON_CACHE_DIR=/opt/ipa/cache/triton \
    VLLM_CACHE_ROOT=/opt/ipa/cache/vllm \
    TORCHINDUCTOR_CACHE_DIR=/opt/ipa/cache/inductor \
    MPLCONFIGDIR=/opt/ipa/cache/matplotlib \
    IPA_HEALTH_GPU=1

USER ipa

# Healthy = the agent is alive and, where a GPU was reserved (IPA_HEALTH_GPU=1, the default; the
# compose helper service sets 0), CUDA still sees it. docker/healthcheck.sh says which check failed.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
  CMD ["ipa-healthcheck"]

ENTRYPOINT ["tini", "--", "ipa", "worker"]
CMD ["--queues", "sample,verify,revise,pair,eval", "--gpu", "0", "--concurrency", "1"]
